"""`blaster serve` end to end with plain sockets: every promise of the built-in
target (keep-alive, pipelining, bodies, HEAD, faults, timing, flags, signals).
Every socket operation has a timeout and every server is bounded in time."""
import re
import select
import signal
import socket
import subprocess
import time

import pytest

from conftest import BLASTER, Conn, blaster_serve, free_port, stop

HELLO = b"hello, world\n"


def get(path="/", version="1.1", extra=""):
    return f"GET {path} HTTP/{version}\r\nHost: t\r\n{extra}\r\n".encode()


def test_ready_line_names_the_port_threads_and_ring_mode(blaster_bin):
    proc = subprocess.Popen([BLASTER, "serve", "--listen", "127.0.0.1:0", "--threads", "2",
                             "--exit-after", "30s"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stderr], [], [], 10)
        assert ready, "no ready line within 10 s"
        line = proc.stderr.readline()
        assert line.startswith("blaster serve: listening on http://127.0.0.1:"), line
        assert "(2 threads, " in line, line
        port = int(line.split("127.0.0.1:")[1].split()[0])
        assert port > 0  # port 0 picked a real one, and it answers
        with Conn(f"http://127.0.0.1:{port}/") as c:
            c.send(get())
            assert c.response()[0] == 200
    finally:
        stop(proc)


def test_keep_alive_answers_several_requests_on_one_connection(blaster_bin):
    with blaster_serve() as (url, _), Conn(url) as c:
        for i in range(5):
            c.send(get(f"/any/path/{i}?q={i}"))
            status, headers, body = c.response()
            assert status == 200
            assert body == HELLO
            assert headers["content-length"] == str(len(HELLO))
            assert "connection" not in headers


def test_pipelined_requests_are_answered_in_order(blaster_bin):
    # Each request gets a response that can be told apart, so the order shows.
    reqs = (get("/1")
            + b"HEAD /2 HTTP/1.1\r\nHost: t\r\n\r\n"
            + b"POST /3 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
            + get("/4", version="1.0", extra="Connection: keep-alive\r\n")
            + get("/5") * 40
            + get("/6", extra="Connection: close\r\n"))
    with blaster_serve() as (url, _), Conn(url) as c:
        c.send(reqs)
        status, h, body = c.response()
        assert (status, body, "connection" in h) == (200, HELLO, False)
        status, h, body = c.response(head=True)
        assert (status, body, h["content-length"]) == (200, b"", "13")
        status, h, body = c.response()
        assert (status, body) == (200, HELLO)
        status, h, body = c.response()
        assert (status, body, h.get("connection")) == (200, HELLO, "keep-alive")
        for _ in range(40):
            status, h, body = c.response()
            assert (status, body, "connection" in h) == (200, HELLO, False)
        status, h, body = c.response()
        assert (status, body, h.get("connection")) == (200, HELLO, "close")
        assert c.at_eof()


def test_pipelined_mix_of_faults_is_answered_in_order(blaster_bin):
    # 30 pipelined requests, each a 200 or a 500 at random, GETs and HEADs
    # alternating: every response comes, in order, on the same connection.
    with blaster_serve("--error-rate", "0.5", "--delay", "5ms") as (url, _), Conn(url) as c:
        c.send((get() + b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n") * 15)
        statuses = []
        for i in range(30):
            status, h, body = c.response(head=i % 2 == 1)
            statuses.append(status)
            assert body == (b"" if i % 2 else HELLO if status == 200 else b"internal server error\n")
        assert set(statuses) == {200, 500}, statuses
        c.send(get())
        assert c.response()[0] in (200, 500)


def test_http_1_0_without_keep_alive_is_closed_after_the_response(blaster_bin):
    with blaster_serve() as (url, _), Conn(url) as c:
        c.send(b"GET / HTTP/1.0\r\n\r\n")
        status, h, body = c.response()
        assert (status, body, h["connection"]) == (200, HELLO, "close")
        assert c.at_eof()


def test_one_mib_post_body_is_consumed_and_answered(blaster_bin):
    body = bytes(range(256)) * 4096
    with blaster_serve() as (url, _), Conn(url, timeout=10) as c:
        c.send(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        assert c.response()[:3:2] == (200, HELLO)
        # The same, chunked, in 64 KiB chunks, on the same connection.
        c.send(b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i in range(0, len(body), 65536):
            c.send(b"%x\r\n" % 65536 + body[i:i + 65536] + b"\r\n")
        c.send(b"0\r\n\r\n")
        assert c.response()[:3:2] == (200, HELLO)
        c.send(get())
        assert c.response()[:3:2] == (200, HELLO)


def test_expect_100_continue_gets_the_go_ahead(blaster_bin):
    with blaster_serve() as (url, _), Conn(url) as c:
        c.send(b"PUT /x HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        assert c.response()[0] == 100
        c.send(b"data")
        assert c.response()[:3:2] == (200, HELLO)


def test_head_has_no_body(blaster_bin):
    with blaster_serve("--body-size", "100") as (url, _), Conn(url) as c:
        c.send(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n" + get())
        status, h, body = c.response(head=True)
        assert (status, h["content-length"], body) == (200, "100", b"")
        # Had a body followed the HEAD response, this would not be a status line.
        status, h, body = c.response()
        assert status == 200 and len(body) == 100


@pytest.mark.parametrize("size", ["0", "1MiB"])
def test_body_size(blaster_bin, size):
    n = {"0": 0, "1MiB": 1 << 20}[size]
    with blaster_serve("--body-size", size) as (url, _), Conn(url, timeout=10) as c:
        for _ in range(3):
            c.send(get())
            status, h, body = c.response()
            assert status == 200 and len(body) == n and h["content-length"] == str(n)
        assert body == (HELLO * (n // len(HELLO) + 1))[:n]


def test_error_rate_one_gives_500s_on_a_kept_connection(blaster_bin):
    with blaster_serve("--error-rate", "1") as (url, _), Conn(url) as c:
        for _ in range(3):
            c.send(get())
            status, h, _ = c.response()
            assert status == 500 and "connection" not in h


def test_close_rate_one_closes_after_the_response(blaster_bin):
    with blaster_serve("--close-rate", "1") as (url, _), Conn(url) as c:
        c.send(get())
        status, h, body = c.response()
        assert (status, body, h["connection"]) == (200, HELLO, "close")
        assert c.at_eof()


def test_reset_rate_one_resets_the_connection(blaster_bin):
    with blaster_serve("--reset-rate", "1") as (url, _), Conn(url) as c:
        c.send(get())
        with pytest.raises(ConnectionResetError):
            c.sock.recv(4096)


def test_garbage_rate_one_sends_bytes_that_are_not_http(blaster_bin):
    with blaster_serve("--garbage-rate", "1") as (url, _), Conn(url) as c:
        c.send(get())
        data = b""
        while True:
            chunk = c.sock.recv(4096)
            if not chunk:
                break
            data += chunk
        assert data and not data.startswith(b"HTTP/"), data


def test_delay_delays_every_response(blaster_bin):
    with blaster_serve("--delay", "200ms") as (url, _), Conn(url) as c:
        for _ in range(2):
            t = time.monotonic()
            c.send(get())
            assert c.response()[0] == 200
            assert time.monotonic() - t >= 0.18


def test_stall_holds_requests_until_it_ends(blaster_bin):
    # Stalls of 1 s at 2 s, 4 s, ... after start. Requests back to back on one
    # connection: one sent just after a stall starts waits for its end; the
    # ones before and after are answered at once.
    with blaster_serve("--stall", "1s@2s") as (url, _), Conn(url) as c:
        end = time.monotonic() + 6
        lat = []
        while time.monotonic() < end:
            t = time.monotonic()
            c.send(get())
            assert c.response()[0] == 200
            lat.append(time.monotonic() - t)
            if len(lat) >= 2 and lat[-2] >= 0.5 and lat[-1] < 0.5:
                break  # the stall, and the first request after it
        slow = [i for i, x in enumerate(lat) if x >= 0.5]
        assert slow, f"no request waited for the stall (max {max(lat):.3f}s)"
        assert slow[0] > 0 and lat[slow[0] - 1] < 0.5, "answered at once before the stall"
        assert lat[slow[0]] < 1.5
        assert slow[0] + 1 < len(lat) and lat[slow[0] + 1] < 0.5, "answered at once after it"


def test_malformed_request_gets_400_and_a_close(blaster_bin):
    with blaster_serve() as (url, _), Conn(url) as c:
        c.send(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
        status, h, _ = c.response()
        assert (status, h["connection"]) == (400, "close")
        assert c.at_eof()


def test_oversized_head_gets_431_and_long_target_414(blaster_bin):
    with blaster_serve() as (url, _):
        with Conn(url) as c:
            c.send(b"GET / HTTP/1.1\r\nHost: t\r\n" + b"X-Big: " + b"a" * 70000 + b"\r\n\r\n")
            status, h, _ = c.response()
            assert (status, h["connection"]) == (431, "close")
            assert c.at_eof()
        with Conn(url) as c:
            c.send(get("/" + "a" * 600))
            assert c.response()[0] == 414


def test_a_thousand_connections_are_answered(blaster_bin):
    with blaster_serve() as (url, _):
        conns = [Conn(url) for _ in range(1000)]
        try:
            for c in conns:
                c.send(get())
            for c in conns:
                assert c.response()[:3:2] == (200, HELLO)
        finally:
            for c in conns:
                c.close()


@pytest.mark.parametrize("args,flag", [
    (["--delay", "abc"], "--delay"),
    (["--error-rate", "1.5"], "--error-rate"),
    (["--reset-rate", "-0.1"], "--reset-rate"),
    (["--threads", "0"], "--threads"),
    (["--body-size", "lots"], "--body-size"),
    (["--stall", "1s"], "--stall"),
    (["--stall", "2s@1s"], "--stall"),
    (["--listen", "nowhere"], "--listen"),
    (["--exit-after", "0"], "--exit-after"),
    (["--garbage-rate"], "--garbage-rate"),
    (["--bogus"], "--bogus"),
])
def test_bad_flag_exits_1_naming_the_flag(blaster_bin, args, flag):
    proc = subprocess.run([BLASTER, "serve", "--listen", "127.0.0.1:0", *args],
                          capture_output=True, text=True, timeout=10)
    assert proc.returncode == 1, proc.stderr
    assert flag in proc.stderr
    assert "Usage: blaster serve" in proc.stderr


def test_port_in_use_is_a_runtime_error(blaster_bin):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        proc = subprocess.run([BLASTER, "serve", "--listen", f"127.0.0.1:{port}", "--exit-after", "5s"],
                              capture_output=True, text=True, timeout=10)
    assert proc.returncode == 2, proc.stderr
    assert f"127.0.0.1:{port}" in proc.stderr


def test_sigterm_stops_promptly_with_exit_0(blaster_bin):
    with blaster_serve("-v", "--threads", "1", "--delay", "300ms") as (url, proc), Conn(url) as c:
        c.send(get())
        assert c.response()[0] == 200
        c.send(get())  # left pending on its delay: it must not hold the exit
        t = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        assert time.monotonic() - t < 2
        err = proc.stderr.read()
        # Two connections at least: the fixture's probe for the port, and ours.
        m = re.search(r"worker 0: (\d+) connections, (\d+) requests \(2xx (\d+)", err)
        assert m, err
        assert int(m.group(1)) >= 2 and int(m.group(2)) >= 1 and int(m.group(3)) >= 1, err


def test_exit_after_stops_by_itself(blaster_bin):
    port = free_port()
    t = time.monotonic()
    proc = subprocess.run([BLASTER, "serve", "--listen", f"127.0.0.1:{port}", "--exit-after", "1s"],
                          capture_output=True, text=True, timeout=10)
    assert proc.returncode == 0, proc.stderr
    assert 0.9 <= time.monotonic() - t < 5
