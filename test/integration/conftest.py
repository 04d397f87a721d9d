"""Shared fixtures: the blaster binary, free loopback ports, and servers that
are bounded in time and always stopped (blaster serve, nginx)."""
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BLASTER = os.environ.get("BLASTER", os.path.join(ROOT, "build", "blaster"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, timeout=10.0):
    """Until 127.0.0.1:port accepts, the process dies, or timeout (then fail)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}: "
                               f"{proc.stderr.read() if proc.stderr else ''}")
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def stop(proc, timeout=10.0):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextlib.contextmanager
def blaster_serve(*args, exit_after="120s", cpus=None, tls=None):
    """`blaster serve` on a free loopback port; yields (url, proc). The server
    stops by itself after exit_after even if the test dies. cpus: its
    affinity mask, set before exec so that its worker threads inherit it.
    tls: a tls_certs object; the server then speaks HTTPS with its cert and
    key, and the url is https://127.0.0.1:PORT/."""
    port = free_port()
    tls_args = ["--tls", "--cert", tls.cert, "--key", tls.key] if tls is not None else []
    proc = subprocess.Popen([BLASTER, "serve", "--listen", f"127.0.0.1:{port}",
                             "--exit-after", exit_after, *tls_args, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
    try:
        wait_port(port, proc)
        yield f"{'https' if tls is not None else 'http'}://127.0.0.1:{port}/", proc
    finally:
        stop(proc)


class Run:
    def __init__(self, proc, out, err, summary):
        self.returncode = proc.returncode
        self.stdout = out
        self.stderr = err
        self.summary = summary

    def metric(self, name):
        return self.summary["metrics"][name]["values"]


def run_blaster(args, timeout=60, env=None, cpus=None):
    """Run blaster with --summary-export into a temp file; bounded in time.
    cpus: the affinity mask to start it with (blaster runs one worker per CPU
    of its mask)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "summary.json")
        proc = subprocess.Popen([BLASTER, *args, "--summary-export", path],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"blaster did not finish in {timeout}s:\n{out}\n{err}")
        summary = None
        if os.path.exists(path):
            with open(path) as f:
                summary = json.load(f)
        return Run(proc, out, err, summary)


@contextlib.contextmanager
def cpu_hog(cpu):
    """A busy loop pinned to cpu at a higher priority than ours (at equal
    priority the scheduler lets a waking client preempt it, and the client is
    barely delayed). Its own process group, so that stopping it stops the
    loop too; bounded to 30 s whatever happens."""
    hog = subprocess.Popen(["timeout", "30", "nice", "-n", "-10", "sh", "-c", "while :; do :; done"],
                           preexec_fn=lambda: os.sched_setaffinity(0, {cpu}), start_new_session=True)
    try:
        yield hog
    finally:
        os.killpg(hog.pid, signal.SIGKILL)
        hog.wait(5)


@pytest.fixture(scope="session")
def blaster_bin():
    assert os.access(BLASTER, os.X_OK), f"build blaster first: {BLASTER}"
    return BLASTER


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "hello from nginx\\n"; }}
        location /empty {{ return 204; }}
    }}
}}
"""


@contextlib.contextmanager
def nginx():
    """nginx with its own config and access log on a free loopback port; yields
    (url, access_log_path)."""
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(exe):
        pytest.fail("nginx is not installed: run scripts/deps.sh")
    d = tempfile.mkdtemp(prefix="blaster-nginx-")
    port = free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=d, port=port))
    proc = subprocess.Popen([exe, "-c", conf, "-p", d, "-e", os.path.join(d, "error.log")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port, proc)
        yield f"http://127.0.0.1:{port}/", os.path.join(d, "access.log")
    finally:
        stop(proc)
        shutil.rmtree(d, ignore_errors=True)


class Conn:
    """A client connection that reads whole HTTP/1.1 responses."""

    def __init__(self, url, timeout=5.0):
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError(f"server closed; unparsed bytes: {self.buf[:200]!r}")
        self.buf += chunk

    def response(self, head=False):
        """(status, headers with lowercase names, body) of the next response."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        raw, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = raw.decode("latin-1").split("\r\n")
        assert lines[0].startswith("HTTP/1.1 "), lines[0]
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
        n = 0 if head or status < 200 else int(headers["content-length"])
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def at_eof(self):
        """True when the server has closed its side and nothing else is left."""
        if self.buf:
            return False
        return self.sock.recv(1) == b""


class TlsCerts:
    """Paths (str) of the PEM files tls_certs makes; see there."""


def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{r.stderr}")


SERVER_EXT = ("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
              "extendedKeyUsage=serverAuth\nsubjectAltName={san}\n")
CLIENT_EXT = ("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
              "extendedKeyUsage=clientAuth\n")
# `openssl ca`, the only openssl 3.0 command that takes a start date in the
# past: the expired certificate.
CA_CONF = """
[ca]
default_ca = ca_default
[ca_default]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}/issued
serial = {dir}/serial
default_md = sha256
policy = policy_any
copy_extensions = none
[policy_any]
commonName = supplied
[ext_expired]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
"""


@pytest.fixture(scope="session")
def tls_certs(tmp_path_factory):
    """Certificates made once per session with the openssl CLI (EC P-256 keys).
    Attributes, all str paths:
      ca                  the CA that signed everything below
      cert, key           server: CN=localhost, SAN DNS:localhost, IP:127.0.0.1
      client_cert, client_key   client (extendedKeyUsage clientAuth)
      other_ca            a second CA that signed nothing used here
      wrong_cert, wrong_key     server for DNS:other.example only
      expired_cert, expired_key server for localhost, valid 2020-01-01..2020-02-01"""
    d = str(tmp_path_factory.mktemp("tls"))
    c = TlsCerts()

    def key(name):
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", f"{name}.key", cwd=d)
        return os.path.join(d, f"{name}.key")

    def ca(name, cn):
        key(name)
        _openssl("req", "-new", "-x509", "-key", f"{name}.key", "-subj", f"/CN={cn}", "-days", "3650",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", f"{name}.pem", cwd=d)
        return os.path.join(d, f"{name}.pem")

    def leaf(name, cn, ext):
        key(name)
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(ext)
        _openssl("req", "-new", "-key", f"{name}.key", "-subj", f"/CN={cn}", "-out", f"{name}.csr", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "825", "-sha256", "-extfile", f"{name}.ext",
                 "-out", f"{name}.pem", cwd=d)
        return os.path.join(d, f"{name}.pem"), os.path.join(d, f"{name}.key")

    c.ca = ca("ca", "blaster test CA")
    c.other_ca = ca("other_ca", "blaster other CA")
    c.cert, c.key = leaf("server", "localhost", SERVER_EXT.format(san="DNS:localhost,IP:127.0.0.1"))
    c.client_cert, c.client_key = leaf("client", "blaster client", CLIENT_EXT)
    c.wrong_cert, c.wrong_key = leaf("wrong", "other.example", SERVER_EXT.format(san="DNS:other.example"))

    os.makedirs(os.path.join(d, "issued"))
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("1000\n")
    with open(os.path.join(d, "ca.conf"), "w") as f:
        f.write(CA_CONF.format(dir=d))
    c.expired_key = key("expired")
    _openssl("req", "-new", "-key", "expired.key", "-subj", "/CN=localhost", "-out", "expired.csr", cwd=d)
    _openssl("ca", "-batch", "-config", "ca.conf", "-cert", "ca.pem", "-keyfile", "ca.key",
             "-startdate", "20200101000000Z", "-enddate", "20200201000000Z", "-extensions", "ext_expired",
             "-notext", "-in", "expired.csr", "-out", "expired.pem", cwd=d)
    c.expired_cert = os.path.join(d, "expired.pem")
    return c
