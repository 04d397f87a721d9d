"""`blaster serve --tls`: the built-in target over HTTPS, with Python's own ssl
module (OpenSSL) as the client, so that the server is checked against a TLS
stack that is not the one it is built on.

What a user relies on: a verified certificate, keep-alive and pipelining,
request bodies and response bodies bigger than one TLS record, the TLS version
asked for, a clear error for a certificate that does not load, a plaintext
client that gets closed rather than hung, the faults and /__stats and --app
demo working as they do over plain HTTP, and close_notify before a close. Every
socket has a timeout, so a server that hangs fails a test instead of hanging it."""
import http.client
import json
import re
import socket
import ssl
import subprocess
import time

import pytest

from conftest import BLASTER, blaster_serve, run_blaster

TIMEOUT = 10.0
MIB = 1 << 20


def port_of(url):
    return int(url.rstrip("/").rsplit(":", 1)[1])


def client_context(tls_certs, version=None):
    ctx = ssl.create_default_context(cafile=tls_certs.ca)
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


class Https(http.client.HTTPSConnection):
    """http.client over TLS to 127.0.0.1 with the certificate checked for
    localhost (the name a user would type)."""

    def __init__(self, url, ctx, timeout=TIMEOUT):
        super().__init__("localhost", port_of(url), context=ctx, timeout=timeout)

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._context.wrap_socket(sock, server_hostname="localhost")


def tls_socket(url, ctx, **kw):
    sock = socket.create_connection(("127.0.0.1", port_of(url)), TIMEOUT)
    return ctx.wrap_socket(sock, server_hostname="localhost", **kw)


def get(conn, path, headers=None):
    conn.request("GET", path, headers=headers or {})
    r = conn.getresponse()
    return r.status, r.getheaders(), r.read()


def read_all(sock):
    """Everything until the server's close_notify (or FIN)."""
    data = b""
    while True:
        chunk = sock.recv(1 << 16)
        if not chunk:
            return data
        data += chunk


def worker_counts(proc):
    """Sum of the -v counters the server printed when it stopped."""
    err = proc.stderr.read()
    out = {"connections": 0, "tls errors": 0, "requests": 0}
    for line in err.splitlines():
        if ": worker " not in line:
            continue
        parts = line.split(": ", 2)[2]
        out["connections"] += int(parts.split(" connections")[0])
        out["requests"] += int(parts.split(", ")[1].split(" requests")[0])
        out["tls errors"] += int(line.rsplit(", ", 1)[1].split(" tls errors")[0])
    return out, err


def test_get_answers_200_with_a_verified_certificate(tls_certs):
    with blaster_serve("-t", "1", tls=tls_certs) as (url, proc):
        assert url.startswith("https://127.0.0.1:")
        conn = Https(url, client_context(tls_certs))
        try:
            status, headers, body = get(conn, "/")
        finally:
            conn.close()
    assert (status, body) == (200, b"hello, world\n")
    assert dict(headers)["Content-Length"] == "13"
    assert "listening on https://127.0.0.1:" in proc.stderr.readline()


def test_keep_alive_50_requests_on_one_connection(tls_certs):
    with blaster_serve("-t", "1", "-v", tls=tls_certs) as (url, proc):
        conn = Https(url, client_context(tls_certs))
        try:
            for i in range(50):
                status, _, body = get(conn, f"/r/{i}")
                assert (status, body) == (200, b"hello, world\n"), i
                if i == 0:
                    sock = conn.sock
                assert conn.sock is sock, "the connection was not kept alive"
        finally:
            conn.close()
    counts, err = worker_counts(proc)
    assert counts["requests"] == 50, err
    assert counts["tls errors"] == 0, err


def test_pipelined_requests_answered_in_order(tls_certs):
    # Written in one go: the server parses them from one record and queues the responses.
    with blaster_serve("-t", "1", "--app", "demo", tls=tls_certs) as (url, _):
        with tls_socket(url, client_context(tls_certs)) as s:
            reqs = [b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"POST /api/v1/tracks/upload/initiate HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
                    b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"] * 5
            s.sendall(b"".join(reqs) + b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = read_all(s)
    statuses = [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)]
    assert statuses == [200, 201, 404] * 5 + [200]


def test_response_bodies_bigger_than_a_record(tls_certs):
    # 1 MiB: 64 records and as many trips through the output buffer.
    with blaster_serve("-t", "1", "--body-size", "1MiB", tls=tls_certs) as (url, _):
        conn = Https(url, client_context(tls_certs))
        try:
            for _ in range(3):
                status, _, body = get(conn, "/")
                assert status == 200
                assert len(body) == MIB
                assert body == (b"hello, world\n" * (MIB // 13 + 1))[:MIB]
        finally:
            conn.close()


def test_1mib_post_body_is_read_whole(tls_certs):
    data = bytes(range(256)) * 4096
    with blaster_serve("-t", "1", "--app", "demo", tls=tls_certs) as (url, _):
        conn = Https(url, client_context(tls_certs))
        try:
            conn.request("POST", "/api/v1/tracks/upload/initiate", body=b"{}",
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            assert r.status == 201
            upload_id = json.loads(r.read())["data"]["upload_id"]
            for n in (1, 2):
                conn.request("POST", "/api/v1/tracks/upload/chunk", body=data,
                             headers={"X-Upload-Id": upload_id, "X-Chunk-Number": str(n),
                                      "Content-Type": "application/octet-stream"})
                r = conn.getresponse()
                assert (r.status, json.loads(r.read())) == (200, {"received": MIB, "chunk": n})
            status, _, body = get(conn, "/__stats")
        finally:
            conn.close()
    assert status == 200
    stats = json.loads(body)
    assert (stats["upload_chunk"], stats["chunk_bytes"]) == (2, 2 * MIB)


@pytest.mark.parametrize("args,want", [
    (["--tls-max", "1.2"], "TLSv1.2"),
    (["--tls-min", "1.3"], "TLSv1.3"),
    ([], "TLSv1.3"),
])
def test_the_version_asked_for_is_negotiated(tls_certs, args, want):
    with blaster_serve("-t", "1", *args, tls=tls_certs) as (url, _):
        with tls_socket(url, client_context(tls_certs)) as s:
            assert s.version() == want
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert read_all(s).endswith(b"\r\n\r\nhello, world\n")


@pytest.mark.parametrize("server,client", [
    ("--tls-max=1.2", ssl.TLSVersion.TLSv1_3),
    ("--tls-min=1.3", ssl.TLSVersion.TLSv1_2),
])
def test_a_version_outside_the_range_fails_the_handshake(tls_certs, server, client):
    with blaster_serve("-t", "1", "-v", server, tls=tls_certs) as (url, proc):
        with pytest.raises((ssl.SSLError, ConnectionError)):
            tls_socket(url, client_context(tls_certs, client)).close()
    counts, err = worker_counts(proc)
    assert counts["tls errors"] == 1, err


def test_plaintext_request_to_the_tls_port_is_closed(tls_certs):
    with blaster_serve("-t", "1", "-v", tls=tls_certs) as (url, proc):
        with socket.create_connection(("127.0.0.1", port_of(url)), TIMEOUT) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                data = s.recv(4096)  # the socket timeout fails the test if this hangs
            except ConnectionResetError:
                data = b""
            assert data == b""
        # The server goes on serving TLS.
        conn = Https(url, client_context(tls_certs))
        try:
            assert get(conn, "/")[0] == 200
        finally:
            conn.close()
    counts, err = worker_counts(proc)
    assert counts["tls errors"] == 1, err
    assert counts["connections"] >= 2, err


@pytest.mark.parametrize("which", ["cert", "key"])
def test_a_certificate_that_does_not_load_exits_1_naming_the_file(tls_certs, tmp_path, which):
    missing = str(tmp_path / f"missing-{which}.pem")
    cert, key = (missing, tls_certs.key) if which == "cert" else (tls_certs.cert, missing)
    r = subprocess.run([BLASTER, "serve", "--listen", "127.0.0.1:0", "--exit-after", "5s", "--tls",
                        "--cert", cert, "--key", key], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, r.stderr
    word = "certificate" if which == "cert" else "private key"
    assert f"blaster serve: cannot load {word}: {missing}" in r.stderr


def test_a_key_for_another_certificate_exits_1(tls_certs):
    r = subprocess.run([BLASTER, "serve", "--listen", "127.0.0.1:0", "--exit-after", "5s", "--tls",
                        "--cert", tls_certs.cert, "--key", tls_certs.wrong_key],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "does not match" in r.stderr and tls_certs.wrong_key in r.stderr


@pytest.mark.parametrize("args,message", [
    (["--tls"], "--tls needs --cert FILE and --key FILE"),
    (["--cert", "c.pem", "--key", "k.pem"], "need --tls"),
    (["--tls", "--cert", "c", "--key", "k", "--tls-min", "1.1"], "--tls-min: expected 1.2 or 1.3"),
    (["--tls", "--cert", "c", "--key", "k", "--tls-min", "1.3", "--tls-max", "1.2"], "above --tls-max"),
])
def test_tls_usage_errors_exit_1(args, message):
    r = subprocess.run([BLASTER, "serve", "--listen", "127.0.0.1:0", *args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert message in r.stderr


def test_help_documents_tls():
    r = subprocess.run([BLASTER, "serve", "--help"], capture_output=True, text=True, timeout=30)
    for flag in ("--tls", "--cert FILE", "--key FILE", "--tls-min", "--tls-max"):
        assert flag in r.stdout


def test_stats_over_tls(tls_certs):
    with blaster_serve("-t", "2", "--app", "demo", tls=tls_certs) as (url, _):
        conn = Https(url, client_context(tls_certs))
        try:
            for _ in range(3):
                assert get(conn, "/health")[0] == 200
            status, headers, body = get(conn, "/__stats")
        finally:
            conn.close()
    assert status == 200
    stats = json.loads(body)
    assert (stats["health"], stats["stats"], stats["workers"]) == (3, 1, 2)


def test_delay_holds_each_response(tls_certs):
    with blaster_serve("-t", "1", "--delay", "200ms", tls=tls_certs) as (url, _):
        conn = Https(url, client_context(tls_certs))
        try:
            get(conn, "/")  # the handshake is not delayed; leave it out of the timing
            t0 = time.monotonic()
            for _ in range(3):
                assert get(conn, "/")[0] == 200
            elapsed = time.monotonic() - t0
        finally:
            conn.close()
    assert 0.6 <= elapsed < 5, elapsed


def test_close_rate_sends_close_notify_before_closing(tls_certs):
    # suppress_ragged_eofs=False: a close without close_notify would raise.
    with blaster_serve("-t", "1", "--close-rate", "1", tls=tls_certs) as (url, _):
        with tls_socket(url, client_context(tls_certs), suppress_ragged_eofs=False) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            data = read_all(s)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Connection: close\r\n" in data and data.endswith(b"hello, world\n")


def test_garbage_is_encrypted_then_closed(tls_certs):
    with blaster_serve("-t", "1", "--garbage-rate", "1", tls=tls_certs) as (url, _):
        with tls_socket(url, client_context(tls_certs), suppress_ragged_eofs=False) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_all(s) == b"NOT HTTP AT ALL\r\n\r\n"


def test_reset_rate_resets(tls_certs):
    with blaster_serve("-t", "1", "--reset-rate", "1", tls=tls_certs) as (url, _):
        with tls_socket(url, client_context(tls_certs), suppress_ragged_eofs=False) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            with pytest.raises((ConnectionResetError, ssl.SSLError)):
                read_all(s)


def test_blaster_against_serve_tls_many_connections(tls_certs):
    # Its own client, many connections and handshakes at once on two workers.
    with blaster_serve("-t", "2", "-v", tls=tls_certs) as (url, proc):
        r = run_blaster(["-c", "32", "-t", "2", "-d", "1s", "--cacert", tls_certs.ca,
                         f"https://localhost:{port_of(url)}/"], timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.metric("http_req_failed")["rate"] == 0
    assert r.metric("http_reqs")["count"] > 100
    counts, err = worker_counts(proc)
    assert counts["tls errors"] == 0, err
    assert counts["connections"] >= 32, err


def test_clients_that_leave_mid_response_do_not_hurt_the_server(tls_certs):
    # Closed while the server is sending a 16 MiB body: the close can overtake the
    # send in flight, whose output buffer must then outlive the close (ASan run).
    with blaster_serve("-t", "1", "-v", "--body-size", "16MiB", tls=tls_certs) as (url, proc):
        ctx = client_context(tls_certs)
        for i in range(20):
            s = tls_socket(url, ctx)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(1024).startswith(b"HTTP/1.1 200 OK") or i
            if i % 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        conn = Https(url, client_context(tls_certs))
        try:
            status, _, body = get(conn, "/")
        finally:
            conn.close()
    assert (status, len(body)) == (200, 16 * MIB)
    counts, err = worker_counts(proc)
    assert counts["requests"] == 21, err
