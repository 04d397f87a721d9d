"""HTTPS end to end: blaster against nginx (OpenSSL) and `blaster serve --tls`
with certificates made here by the openssl CLI (conftest's tls_certs).

What a user relies on: the server's certificate is verified (and the failure
says why and what to do), sessions are resumed unless told not to, both TLS
versions work, client certificates are sent, a plaintext server behind an
https:// URL is an error and not a hang, records cut into single bytes still
decode, and the counts agree with the server's own access log."""
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import BLASTER, blaster_serve, free_port, run_blaster, stop, wait_port

NGINX_TLS_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    log_format tls '$status $ssl_protocol $ssl_session_reused $ssl_client_verify $ssl_server_name $ssl_alpn_protocol';
    access_log {dir}/access.log tls;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    ssl_session_cache shared:SSL:1m;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols {protocols};
        keepalive_requests {keepalive};
        {extra}
        location / {{ return 200 "hello over tls\\n"; }}
    }}
}}
"""


@contextlib.contextmanager
def nginx_tls(cert, key, protocols="TLSv1.2 TLSv1.3", keepalive=100000, extra=""):
    """nginx serving HTTPS on a free loopback port; yields (port, access log path)."""
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    d = tempfile.mkdtemp(prefix="blaster-nginx-tls-")
    port = free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_TLS_CONF.format(dir=d, port=port, cert=cert, key=key, protocols=protocols,
                                      keepalive=keepalive, extra=extra))
    proc = subprocess.Popen([exe, "-c", conf, "-p", d, "-e", os.path.join(d, "error.log")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port, proc)
        yield port, os.path.join(d, "access.log")
    finally:
        stop(proc)
        shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def serve_https(certs, *args):
    """`blaster serve --tls` with the test certificate; yields https://localhost:PORT/."""
    with blaster_serve(*args, tls=certs) as (url, _):
        yield "https://localhost:" + url.rstrip("/").rsplit(":", 1)[1] + "/"


def log_lines(path):
    """The access log's lines, split into (status, protocol, reused, client_verify,
    server_name, alpn)."""
    deadline = time.monotonic() + 5
    # nginx writes a line when the response is done; blaster may have counted
    # it a moment before: read until two reads agree (bounded).
    last = None
    while time.monotonic() < deadline:
        with open(path) as f:
            lines = [tuple(line.split()) for line in f if line.strip()]
        if lines == last:
            return lines
        last = lines
        time.sleep(0.05)
    return last


def metric(run, name, key):
    return run.summary["metrics"][name]["values"][key]


def test_verified_with_cacert_counts_match_nginx(tls_certs):
    with nginx_tls(tls_certs.cert, tls_certs.key) as (port, log):
        r = run_blaster(["-c", "4", "-t", "1", "-d", "1s", "--cacert", tls_certs.ca,
                         f"https://localhost:{port}/"], timeout=30)
        assert r.returncode == 0, r.stderr
        lines = log_lines(log)
    reqs = metric(r, "http_reqs", "count")
    assert reqs > 100
    assert reqs == len(lines)
    assert all(line[0] == "200" for line in lines)
    # SNI from the URL's host, ALPN http/1.1
    assert all(line[4] == "localhost" and line[5] == "http/1.1" for line in lines), lines[:3]
    assert metric(r, "http_req_failed", "rate") == 0
    # four keep-alive connections: four handshakes, each timed
    assert metric(r, "tls_handshakes", "count") == 4
    assert metric(r, "http_req_tls_handshaking", "max") > 0
    assert "tls_handshakes" in r.stdout


def test_unverified_certificate_is_a_clear_error(tls_certs):
    # Signed by a CA that the client does not trust: no request is sent, the
    # run ends early and says why, and what to do about it.
    with nginx_tls(tls_certs.cert, tls_certs.key) as (port, log):
        start = time.monotonic()
        r = run_blaster(["-c", "2", "-d", "20s", "--cacert", tls_certs.other_ca,
                         f"https://localhost:{port}/"], timeout=30)
        took = time.monotonic() - start
        lines = log_lines(log)
    assert r.returncode == 2, r.stdout + r.stderr
    assert took < 15, "a handshake that can never succeed must end the run, not run it out"
    assert "certificate verification failed" in r.stderr
    assert "--cacert" in r.stderr and "--insecure" in r.stderr
    assert "tls=" in r.stdout and "certificate verification failed" in r.stdout
    assert lines == []


def test_expired_certificate_says_so(tls_certs):
    with nginx_tls(tls_certs.expired_cert, tls_certs.expired_key) as (port, _):
        r = run_blaster(["-c", "1", "-d", "5s", "--cacert", tls_certs.ca, f"https://localhost:{port}/"],
                        timeout=30)
    assert r.returncode == 2
    assert "certificate verification failed" in r.stderr and "expired" in r.stderr, r.stderr


def test_wrong_host_name_fails_and_insecure_passes(tls_certs):
    with nginx_tls(tls_certs.wrong_cert, tls_certs.wrong_key) as (port, log):
        bad = run_blaster(["-c", "1", "-d", "5s", "--cacert", tls_certs.ca, f"https://localhost:{port}/"],
                          timeout=30)
        assert bad.returncode == 2
        assert "does not name localhost" in bad.stderr
        # --server-name: the name the certificate does carry
        ok = run_blaster(["-c", "1", "-d", "0.5s", "--cacert", tls_certs.ca, "--server-name", "other.example",
                          f"https://127.0.0.1:{port}/"], timeout=30)
        assert ok.returncode == 0, ok.stderr
        insecure = run_blaster(["-c", "1", "-d", "0.5s", "-k", f"https://localhost:{port}/"], timeout=30)
        assert insecure.returncode == 0, insecure.stderr
        assert metric(insecure, "http_req_failed", "rate") == 0
        assert metric(insecure, "http_reqs", "count") > 10


@pytest.mark.parametrize("resume", [True, False])
def test_resumption_seen_by_nginx(tls_certs, resume):
    # keepalive_requests 1: nginx closes after every response, so every
    # request needs a new connection and a handshake.
    with nginx_tls(tls_certs.cert, tls_certs.key, keepalive=1) as (port, log):
        args = ["-c", "2", "-t", "1", "-d", "1s", "--cacert", tls_certs.ca, f"https://localhost:{port}/"]
        if not resume:
            args.insert(0, "--no-resume")
        r = run_blaster(args, timeout=30)
        assert r.returncode == 0, r.stderr
        lines = log_lines(log)
    reused = sum(1 for line in lines if line[2] == "r")
    assert len(lines) > 20
    assert metric(r, "http_reqs", "count") == len(lines)
    assert metric(r, "tls_handshakes", "count") >= len(lines)
    if resume:
        # all but the first connection of the worker (and the ones that
        # started before the first ticket arrived) resume
        assert reused >= len(lines) - 4, lines[:10]
        assert r.summary["blaster"]["tls"]["resumed"] == reused
    else:
        assert reused == 0
        assert r.summary["blaster"]["tls"]["resumed"] == 0


@pytest.mark.parametrize("version", ["TLSv1.2", "TLSv1.3"])
def test_one_version_servers(tls_certs, version):
    with nginx_tls(tls_certs.cert, tls_certs.key, protocols=version) as (port, log):
        r = run_blaster(["-c", "2", "-d", "0.5s", "--cacert", tls_certs.ca, f"https://localhost:{port}/"],
                        timeout=30)
        assert r.returncode == 0, r.stderr
        lines = log_lines(log)
        assert lines and all(line[1] == version for line in lines)
        assert version in r.stdout
        # asking for the other version only: the handshake fails, with a reason
        other = "1.3" if version == "TLSv1.2" else "1.2"
        bad = run_blaster(["-c", "1", "-d", "5s", "--cacert", tls_certs.ca, "--tls-min", other,
                           "--tls-max", other, f"https://localhost:{port}/"], timeout=30)
        assert bad.returncode == 2
        assert "TLS" in bad.stderr and ("alert" in bad.stderr or "handshake failed" in bad.stderr), bad.stderr


def test_client_certificate(tls_certs):
    extra = f"ssl_verify_client on; ssl_client_certificate {tls_certs.ca};"
    with nginx_tls(tls_certs.cert, tls_certs.key, extra=extra) as (port, log):
        r = run_blaster(["-c", "1", "-d", "0.5s", "--cacert", tls_certs.ca, "--cert", tls_certs.client_cert,
                         "--key", tls_certs.client_key, f"https://localhost:{port}/"], timeout=30)
        assert r.returncode == 0, r.stderr
        assert metric(r, "http_req_failed", "rate") == 0
        lines = log_lines(log)
        assert lines and all(line[3] == "SUCCESS" for line in lines)
        # without one, nginx answers 400 (No required SSL certificate was sent)
        bare = run_blaster(["-c", "1", "-d", "0.5s", "--cacert", tls_certs.ca, f"https://localhost:{port}/"],
                           timeout=30)
        assert metric(bare, "http_req_failed", "rate") == 1


def test_bad_ca_file_is_a_usage_error(tls_certs, tmp_path):
    missing = tmp_path / "nope.pem"
    r = subprocess.run([BLASTER, "-d", "1s", "--cacert", str(missing), "https://127.0.0.1:9/"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert str(missing) in r.stderr and "CA" in r.stderr


def test_plaintext_server_on_https_url():
    with blaster_serve() as (url, _):
        port = url.rstrip("/").rsplit(":", 1)[1]
        start = time.monotonic()
        r = run_blaster(["-c", "2", "-d", "20s", f"https://127.0.0.1:{port}/"], timeout=30)
        took = time.monotonic() - start
    assert r.returncode == 2
    assert took < 15
    assert "answered in plaintext" in r.stderr
    assert "tls=" in r.stdout


class ByteProxy:
    """A TCP proxy on loopback that forwards every byte in its own send, both
    ways, so that TLS records reach each side cut at every boundary."""

    def __init__(self, port):
        self.target = port
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.stopping = False
        self.threads = [threading.Thread(target=self.accept_loop, daemon=True)]
        self.threads[0].start()

    def accept_loop(self):
        while not self.stopping:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                continue
            s = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            for a, b in ((c, s), (s, c)):
                b.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                t = threading.Thread(target=self.pump, args=(a, b), daemon=True)
                t.start()
                self.threads.append(t)

    def pump(self, src, dst):
        src.settimeout(0.2)
        try:
            while not self.stopping:
                try:
                    data = src.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    break
                for i in range(len(data)):
                    dst.send(data[i:i + 1])
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def close(self):
        self.stopping = True
        for t in self.threads:
            t.join(2)
        self.lsock.close()


def test_records_cut_into_single_bytes_still_decode(tls_certs):
    with nginx_tls(tls_certs.cert, tls_certs.key) as (port, log):
        proxy = ByteProxy(port)
        try:
            r = run_blaster(["-c", "2", "-d", "1s", "-T", "5s", "--cacert", tls_certs.ca, "--server-name",
                             "localhost", f"https://127.0.0.1:{proxy.port}/"], timeout=30)
        finally:
            proxy.close()
        lines = log_lines(log)
    assert r.returncode == 0, r.stderr
    assert metric(r, "http_req_failed", "rate") == 0
    assert metric(r, "http_reqs", "count") == len(lines) > 5


def test_scenario_file_over_serve_tls(tls_certs, tmp_path):
    scenario = tmp_path / "tls.yaml"
    ca = tmp_path / "ca.pem"
    shutil.copy(tls_certs.ca, ca)
    scenario.write_text(f"""
target: ${{BASE_URL}}
tls:
  cacert: ca.pem          # next to this file
  min_version: "1.2"
thresholds:
  http_req_failed: ["rate==0"]
  http_req_tls_handshaking: ["p(95)<5000"]
  checks: ["rate==1"]
scenarios:
  api:
    executor: per-vu-iterations
    vus: 3
    iterations: 10
    flow:
      - get: /health
        expect: {{status: 200}}
      - post: /api/v1/tracks/upload/initiate
        json: {{total_chunks: 1, total_size: 1048576, filename: "t-${{vu}}-${{iter}}.mp3"}}
        expect: {{status: [200, 201]}}
        capture: {{upload_id: {{json: data.upload_id}}}}
      - post: /api/v1/tracks/upload/chunk
        headers: {{X-Upload-Id: "${{upload_id}}", X-Chunk-Number: "1", Content-Type: application/octet-stream}}
        body: {{bytes: 1MiB}}
        expect: {{status: 200}}
""")
    with serve_https(tls_certs, "--app", "demo") as url:
        r = run_blaster(["run", str(scenario), "-e", f"BASE_URL={url.rstrip('/')}"], timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert metric(r, "http_reqs", "count") == 90
    assert metric(r, "checks", "rate") == 1
    assert metric(r, "data_sent", "count") > 30 * 1048576
    assert "http_req_tls_handshaking" in r.stdout


# --- the server's faults, over TLS --------------------------------------------------------
# The same classification as over plain HTTP: a reset is `reset`, garbage is `parse`, a
# slow answer is `timeout`, never `tls`; and closes while a 1 MiB body is still being
# encrypted and sent (a TLS send in flight when the close completes) neither crash nor hang.

def errors(run):
    return run.summary["blaster"]["errors"]


def test_resets_during_large_tls_uploads(tls_certs, tmp_path):
    body = tmp_path / "body.bin"
    body.write_bytes(b"b" * (1 << 20))
    with serve_https(tls_certs, "--reset-rate", "0.1") as url:
        r = run_blaster(["-t", "1", "-c", "8", "-d", "2s", "-T", "5s", "-b", f"@{body}", "--cacert", tls_certs.ca,
                         url], timeout=60)
    assert r.returncode == 0, r.stderr
    assert errors(r)["reset"] > 0, r.stdout
    assert errors(r)["tls"] == 0 and errors(r)["parse"] == 0 and errors(r)["timeout"] == 0, r.stdout
    assert r.summary["blaster"]["status_codes"].get("200", 0) > 20
    assert metric(r, "tls_handshakes", "count") > 8  # reconnected after the resets
    assert r.summary["blaster"]["tls"]["resumed"] > 0


def test_server_closes_reconnect_without_failures(tls_certs):
    with serve_https(tls_certs, "--close-rate", "0.5") as url:
        r = run_blaster(["-t", "1", "-c", "5", "-d", "2s", "-R", "500", "--cacert", tls_certs.ca,
                         url], timeout=60)
    assert r.returncode == 0, r.stderr
    assert metric(r, "http_req_failed", "rate") == 0, r.stdout
    hs = metric(r, "tls_handshakes", "count")
    assert hs > 100
    assert r.summary["blaster"]["tls"]["resumed"] >= hs - 5


def test_garbage_and_timeouts_are_not_tls_errors(tls_certs):
    with serve_https(tls_certs, "--garbage-rate", "0.1") as url:
        r = run_blaster(["-t", "1", "-c", "4", "-d", "1s", "-R", "500", "--cacert", tls_certs.ca,
                         url], timeout=60)
    assert r.returncode == 0, r.stderr
    assert errors(r)["parse"] > 0 and errors(r)["tls"] == 0, r.stdout
    with serve_https(tls_certs, "--delay", "3s") as url:
        r = run_blaster(["-t", "1", "-c", "2", "-d", "1s", "-T", "500ms", "--cacert", tls_certs.ca,
                         url], timeout=60)
    assert r.returncode == 2, r.stderr  # no request succeeded (issue 10)
    assert errors(r)["timeout"] > 0 and errors(r)["tls"] == 0, r.stdout
