"""`blaster serve --app demo` end to end with plain sockets: every route with its
status and content type, the upload flow with ids checked across worker
threads, HLS playlists and segments, orders (the zero UUID found wherever the
body is cut), 404/405, /__stats, faults. Every socket operation has a timeout
and every server is bounded in time (the conftest fixture)."""
import contextlib
import json
import re
import socket
import subprocess
import time

import pytest

import conftest
from conftest import BLASTER

MIB = 1 << 20
ZERO_UUID = "00000000-0000-0000-0000-000000000000"
TRACK = "00000000-0000-0000-0000-000000000001"
JSON = "application/json"
M3U8 = "application/vnd.apple.mpegurl"
UPLOAD_ID = re.compile(r"^u[0-9a-f]{16}-[0-9a-f]{8}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@contextlib.contextmanager
def blaster_serve(*args, **kw):
    """conftest's server; afterwards, it must have stopped cleanly: exit 0 and
    no sanitizer report (a build with -fsanitize=address,undefined)."""
    with conftest.blaster_serve(*args, **kw) as (url, proc):
        yield url, proc
    err = proc.stderr.read()
    assert "Sanitizer" not in err and "runtime error" not in err, err
    assert proc.returncode == 0, err


class Conn(conftest.Conn):
    """conftest's connection, plus one request-response round trip."""

    def __init__(self, url, timeout=10.0):
        super().__init__(url, timeout)

    def request(self, method, path, body=b"", headers=None):
        self.send(req(method, path, body, headers))
        return self.response(head=method == "HEAD")


def req(method, path, body=b"", headers=None):
    h = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    if body or method == "POST":
        h += f"Content-Length: {len(body)}\r\n"
    return f"{method} {path} HTTP/1.1\r\nHost: t\r\n{h}\r\n".encode() + body


def stats(url):
    with Conn(url) as c:
        status, h, body = c.request("GET", "/__stats")
    assert status == 200 and h["content-type"] == JSON, (status, h)
    return json.loads(body)


def initiate(c):
    status, h, body = c.request("POST", "/api/v1/tracks/upload/initiate",
                                json.dumps({"total_chunks": 3, "total_size": 3 * MIB,
                                            "filename": "t.mp3"}).encode(),
                                {"Content-Type": JSON})
    assert (status, h["content-type"]) == (201, JSON), (status, body)
    data = json.loads(body)["data"]
    assert data["chunk_size"] == MIB
    assert UPLOAD_ID.match(data["upload_id"]), data
    return data["upload_id"]


def chunk(c, upload_id, n, body):
    headers = {"Content-Type": "application/octet-stream"}
    if upload_id is not None:
        headers["X-Upload-Id"] = upload_id
    if n is not None:
        headers["X-Chunk-Number"] = str(n)
    return c.request("POST", "/api/v1/tracks/upload/chunk", body, headers)


def forge(upload_id):
    """The same counter with another MAC."""
    last = upload_id[-1]
    return upload_id[:-1] + ("0" if last != "0" else "1")


# --- every route ---------------------------------------------------------------

ROUTES = [
    ("GET", "/health", 200, JSON),
    ("GET", "/api/v1/search?q=rock", 200, JSON),
    ("GET", "/api/v1/search?q=lo-fi", 200, JSON),
    ("GET", "/api/v1/tracks?page=1&limit=20", 200, JSON),
    ("GET", f"/api/v1/tracks/{TRACK}", 200, JSON),
    ("GET", "/api/v1/marketplace/products?limit=20", 200, JSON),
    ("GET", f"/api/v1/tracks/{TRACK}/hls/master.m3u8", 200, M3U8),
    ("GET", f"/api/v1/tracks/{TRACK}/hls/256k/playlist.m3u8", 200, M3U8),
    ("GET", f"/api/v1/tracks/{TRACK}/hls/64k/segment-0.ts", 200, "video/mp2t"),
    ("GET", "/__stats", 200, JSON),
    ("POST", "/api/v1/tracks/upload/initiate", 201, JSON),
    ("POST", "/api/v1/tracks/upload/chunk", 400, JSON),           # no id
    ("POST", "/api/v1/marketplace/orders", 201, JSON),
    ("GET", "/", 404, JSON),
    ("GET", "/api/v1/nothing", 404, JSON),
    ("GET", f"/api/v1/tracks/{TRACK}/hls/512k/playlist.m3u8", 404, JSON),
    ("GET", f"/api/v1/tracks/{TRACK}/hls/64k/segment-10.ts", 404, JSON),
    ("GET", f"/api/v1/tracks/{TRACK}/hls/64k/segment-01.ts", 404, JSON),
    ("GET", "/api/v1/tracks//hls/master.m3u8", 404, JSON),
    ("GET", "/api/v1/marketplace/orders", 405, JSON),
    ("POST", "/health", 405, JSON),
    ("DELETE", f"/api/v1/tracks/{TRACK}", 405, JSON),
    ("HEAD", "/__stats", 405, JSON),
]


def test_every_route_status_and_content_type(blaster_bin):
    with blaster_serve("--app", "demo") as (url, _), Conn(url) as c:
        for method, path, status, ctype in ROUTES:
            got, h, body = c.request(method, path, b"{}" if method == "POST" else b"")
            assert (got, h["content-type"]) == (status, ctype), (method, path, got, h, body[:200])
            if method == "HEAD":
                assert body == b"" and int(h["content-length"]) > 0
                continue
            assert h["content-length"] == str(len(body))
            if ctype == JSON:
                doc = json.loads(body)
                if status >= 400:
                    assert set(doc) == {"error"}, doc
            if status == 405:
                allow = "POST" if path.startswith("/api/v1/marketplace/orders") else "GET, HEAD"
                assert h["allow"] == allow, (method, path, h)


def test_json_bodies(blaster_bin):
    with blaster_serve("--app", "demo") as (url, _), Conn(url) as c:
        assert json.loads(c.request("GET", "/health")[2]) == {"status": "ok"}
        results = json.loads(c.request("GET", "/api/v1/search?q=jazz")[2])["data"]
        assert 1 <= len(results) <= 10 and all("id" in r and "title" in r for r in results)
        for query, n in [("?page=1&limit=20", 20), ("?limit=5&page=2", 5), ("", 20),
                         ("?limit=0", 0), ("?limit=500", 100), ("?limit=abc", 20)]:
            doc = json.loads(c.request("GET", "/api/v1/tracks" + query)[2])
            assert len(doc["data"]) == n, query
            assert len({t["id"] for t in doc["data"]}) == n
            products = json.loads(c.request("GET", "/api/v1/marketplace/products" + query)[2])
            assert len(products["data"]) == n, query
        detail = json.loads(c.request("GET", f"/api/v1/tracks/{TRACK}")[2])["data"]
        assert detail["id"] and detail["title"] and detail["duration_ms"] > 0


def test_head_on_a_get_route_has_the_headers_and_no_body(blaster_bin):
    with blaster_serve("--app", "demo") as (url, _), Conn(url) as c:
        status, h, body = c.request("HEAD", "/api/v1/tracks?limit=3")
        assert (status, h["content-type"], body) == (200, JSON, b"")
        status, h2, body = c.request("GET", "/api/v1/tracks?limit=3")
        assert int(h["content-length"]) == len(body) > 0


# --- uploads -------------------------------------------------------------------

def test_upload_flow_and_stats(blaster_bin):
    data = bytes(range(256)) * 4096  # 1 MiB
    with blaster_serve("--app", "demo") as (url, _):
        with Conn(url) as c:
            upload_id = initiate(c)
            for n in (1, 2, 3):
                status, h, body = chunk(c, upload_id, n, data)
                assert (status, h["content-type"]) == (200, JSON), body
                assert json.loads(body) == {"received": MIB, "chunk": n}
            rejected = [
                (forge(upload_id), 4, "unknown upload id"),
                ("u" + "0" * 16 + "-00000000", 4, "unknown upload id"),
                (upload_id + "0", 4, "unknown upload id"),
                (upload_id.upper(), 4, "unknown upload id"),
                (None, 4, "unknown upload id"),
                (upload_id, None, "missing X-Chunk-Number"),
                (upload_id, 0, "invalid X-Chunk-Number"),
                (upload_id, "-1", "invalid X-Chunk-Number"),
                (upload_id, "x", "invalid X-Chunk-Number"),
            ]
            for uid, n, error in rejected:
                status, h, body = chunk(c, uid, n, data)
                assert (status, json.loads(body)) == (400, {"error": error}), (uid, n)
            # The connection survives the 400s: the bodies were read whole.
            assert chunk(c, upload_id, 4, b"tail")[0] == 200
        s = stats(url)
        assert s["upload_initiate"] == 1
        assert s["upload_chunk"] == 4
        assert s["upload_chunk_rejected"] == len(rejected)
        assert s["chunk_bytes"] == 3 * MIB + 4


def test_upload_ids_are_checked_by_any_worker(blaster_bin):
    # Ids made on some connections, chunks on others: with 4 workers and
    # SO_REUSEPORT most chunks reach another thread than their initiate.
    with blaster_serve("--app", "demo", "--threads", "4") as (url, _):
        ids = []
        for _ in range(16):
            with Conn(url) as c:
                ids.append(initiate(c))
        assert len(set(ids)) == 16
        for i, upload_id in enumerate(ids):
            with Conn(url) as c:
                status, _, body = chunk(c, upload_id, i + 1, b"x" * 1000)
                assert status == 200 and json.loads(body) == {"received": 1000, "chunk": i + 1}
                assert chunk(c, forge(upload_id), 1, b"x")[0] == 400
        s = stats(url)
        assert (s["upload_initiate"], s["upload_chunk"], s["upload_chunk_rejected"]) == (16, 16, 16)
        assert s["workers"] == 4


def test_chunked_upload_counts_the_decoded_bytes(blaster_bin):
    with blaster_serve("--app", "demo") as (url, _), Conn(url) as c:
        upload_id = initiate(c)
        c.send(f"POST /api/v1/tracks/upload/chunk HTTP/1.1\r\nHost: t\r\nX-Upload-Id: {upload_id}\r\n"
               "X-Chunk-Number: 7\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        for _ in range(16):
            c.send(b"10000\r\n" + b"a" * 65536 + b"\r\n")
        c.send(b"0\r\n\r\n")
        status, _, body = c.response()
        assert (status, json.loads(body)) == (200, {"received": MIB, "chunk": 7})


def test_pipelined_dynamic_responses_come_in_order(blaster_bin):
    with blaster_serve("--app", "demo") as (url, _), Conn(url) as c:
        order = json.dumps({"product_id": "11111111-2222-4333-8444-555555555555", "quantity": 1}).encode()
        bad = json.dumps({"product_id": ZERO_UUID, "quantity": 1}).encode()
        batch = []
        for i in range(6):
            batch += [("POST", "/api/v1/tracks/upload/initiate", b"{}"), ("GET", "/health", b""),
                      ("POST", "/api/v1/marketplace/orders", order if i % 2 else bad)]
        c.send(b"".join(req(m, p, b) for m, p, b in batch))
        uploads, orders = set(), set()
        for m, p, b in batch:
            status, _, body = c.response()
            doc = json.loads(body)
            if p.endswith("initiate"):
                assert status == 201
                uploads.add(doc["data"]["upload_id"])
            elif p == "/health":
                assert (status, doc) == (200, {"status": "ok"})
            elif b is bad:
                assert (status, doc) == (400, {"error": "product not found"})
            else:
                assert status == 201 and UUID.match(doc["data"]["order_id"]), doc
                orders.add(doc["data"]["order_id"])
        assert len(uploads) == 6 and len(orders) == 3
        for upload_id in uploads:
            assert chunk(c, upload_id, 1, b"z")[0] == 200


# --- HLS -----------------------------------------------------------------------

@pytest.mark.parametrize("args,nseg,size", [([], 10, 64 * 1024),
                                            (["--hls-segments", "7", "--segment-size", "1000"], 7, 1000),
                                            (["--hls-segments", "3", "--segment-size", "1MiB"], 3, MIB)])
def test_hls_master_playlists_and_segments(blaster_bin, args, nseg, size):
    base = f"/api/v1/tracks/{TRACK}/hls/"
    with blaster_serve("--app", "demo", *args) as (url, _), Conn(url) as c:
        status, h, body = c.request("GET", base + "master.m3u8")
        assert (status, h["content-type"]) == (200, M3U8)
        lines = body.decode().splitlines()
        assert lines[:2] == ["#EXTM3U", "#EXT-X-VERSION:3"]
        variants = []
        for i, line in enumerate(lines):
            if line.startswith("#EXT-X-STREAM-INF:"):
                attrs = line.split(":", 1)[1]
                bw = int(re.search(r"(?:^|,)BANDWIDTH=(\d+)", attrs).group(1))
                avg = int(re.search(r"AVERAGE-BANDWIDTH=(\d+)", attrs).group(1))
                assert 'CODECS="mp4a.40.2"' in attrs and 0 < avg <= bw
                variants.append((bw, re.search(r'NAME="([^"]+)"', attrs).group(1), lines[i + 1]))
        assert variants == [(64000, "64k", "64k/playlist.m3u8"), (128000, "128k", "128k/playlist.m3u8"),
                            (256000, "256k", "256k/playlist.m3u8")]
        for _, name, uri in variants:
            status, h, body = c.request("GET", base + uri)
            assert (status, h["content-type"]) == (200, M3U8)
            lines = body.decode().splitlines()
            assert lines[0] == "#EXTM3U" and lines[-1] == "#EXT-X-ENDLIST"
            for tag in ("#EXT-X-TARGETDURATION:10", "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD"):
                assert tag in lines
            assert lines.count("#EXTINF:10.000,") == nseg
            segs = [line for line in lines if not line.startswith("#")]
            assert segs == [f"segment-{i}.ts" for i in range(nseg)]
            for seg in segs:
                status, h, body = c.request("GET", f"{base}{name}/{seg}")
                assert (status, h["content-type"], len(body)) == (200, "video/mp2t", size)
                assert body[:1] == b"\x47"  # MPEG-TS sync byte
            assert c.request("GET", f"{base}{name}/segment-{nseg}.ts")[0] == 404
        assert c.request("GET", f"{base}1080p/segment-0.ts")[0] == 404
        s = stats(url)
        assert (s["hls_master"], s["hls_playlist"], s["hls_segment"]) == (1, 3, 3 * nseg)
        assert s["segments"] == {str(i): 3 for i in range(nseg)}
        assert s["not_found"] == 4


def test_segment_counts_beyond_the_tracked_indexes(blaster_bin):
    with blaster_serve("--app", "demo", "--hls-segments", "100", "--segment-size", "188") as (url, _), \
            Conn(url) as c:
        for i in (0, 63, 64, 99):
            assert c.request("GET", f"/api/v1/tracks/x/hls/128k/segment-{i}.ts")[0] == 200
        s = stats(url)
        assert s["segments"] == {"0": 1, "63": 1} and s["segments_beyond_63"] == 2


# --- orders --------------------------------------------------------------------

def order_body(product):
    return json.dumps({"product_id": product, "quantity": 1}).encode()


def test_orders_400_for_the_zero_uuid_201_otherwise(blaster_bin):
    with blaster_serve("--app", "demo") as (url, _), Conn(url) as c:
        status, h, body = c.request("POST", "/api/v1/marketplace/orders", order_body(ZERO_UUID),
                                    {"Content-Type": JSON})
        assert (status, h["content-type"], json.loads(body)) == (400, JSON, {"error": "product not found"})
        for product in ["00000000-0000-0000-0000-000000000001", "0" * 35 + "1",
                        "00000000-0000-0000-0000-00000000000", "0000000-0000-0000-0000-000000000000"]:
            status, _, body = c.request("POST", "/api/v1/marketplace/orders", order_body(product))
            assert status == 201 and UUID.match(json.loads(body)["data"]["order_id"]), product
        # A false start: the pattern begins one byte later.
        assert c.request("POST", "/api/v1/marketplace/orders", order_body("0" + ZERO_UUID))[0] == 400
        # Only the body is read: the UUID in a header is not a product.
        assert c.request("POST", "/api/v1/marketplace/orders", order_body("p-1"),
                         {"X-Trace": ZERO_UUID})[0] == 201
        s = stats(url)
        assert (s["orders"], s["orders_rejected"]) == (7, 2)


def test_orders_find_the_zero_uuid_across_tcp_writes(blaster_bin):
    body = order_body(ZERO_UUID)
    at = body.index(ZERO_UUID.encode())
    with blaster_serve("--app", "demo") as (url, _), Conn(url) as c:
        head = req("POST", "/api/v1/marketplace/orders", body)[:-len(body)]
        # Cut inside the UUID (several places), at the end of the headers, inside them.
        cuts = [len(head) + at + k for k in (1, 8, 9, 18, 35)] + [len(head), len(head) - 3, 10]
        for cut in cuts:
            data = head + body
            c.send(data[:cut])
            time.sleep(0.05)  # two receives on the server's side
            c.send(data[cut:])
            status, _, resp = c.response()
            assert (status, json.loads(resp)) == (400, {"error": "product not found"}), cut
        ok = order_body("00000000-0000-0000-0000-000000000002")
        data = req("POST", "/api/v1/marketplace/orders", ok)
        c.send(data[:-5])
        time.sleep(0.05)
        c.send(data[-5:])
        assert c.response()[0] == 201
        # Empty lines before a request line, and the UUID first in the body.
        c.send(b"\r\n\r\n" + req("POST", "/api/v1/marketplace/orders", ZERO_UUID.encode()))
        assert c.response()[0] == 400
        # Chunked, the UUID inside one chunk.
        c.send(b"POST /api/v1/marketplace/orders HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
        assert c.response()[0] == 400


# --- stats, faults, flags ------------------------------------------------------

def test_stats_sum_every_worker(blaster_bin):
    with blaster_serve("--app", "demo", "--threads", "4") as (url, _):
        conns = [Conn(url) for _ in range(40)]
        try:
            for c in conns:
                c.send(req("GET", "/health") + req("GET", "/api/v1/search?q=rock") + req("GET", "/nope"))
            for c in conns:
                assert [c.response()[0] for _ in range(3)] == [200, 200, 404]
        finally:
            for c in conns:
                c.close()
        s = stats(url)
        assert (s["health"], s["search"], s["not_found"], s["stats"]) == (40, 40, 40, 1)


def test_concurrent_stats_requests_all_get_whole_json(blaster_bin):
    with blaster_serve("--app", "demo", "--threads", "1") as (url, _):
        conns = [Conn(url) for _ in range(20)]
        try:
            for c in conns:
                c.send(req("GET", "/__stats") * 3)
            for c in conns:
                for _ in range(3):
                    status, _, body = c.response()
                    assert status == 200 and "health" in json.loads(body)
        finally:
            for c in conns:
                c.close()


def test_faults_apply_to_the_demo_routes_but_not_to_stats(blaster_bin):
    with blaster_serve("--app", "demo", "--error-rate", "1") as (url, _), Conn(url) as c:
        assert c.request("GET", "/health")[0] == 500
        assert c.request("POST", "/api/v1/tracks/upload/initiate", b"{}")[0] == 500
        assert c.request("GET", "/__stats")[0] == 200
    with blaster_serve("--app", "demo", "--delay", "200ms") as (url, _), Conn(url) as c:
        t = time.monotonic()
        assert c.request("POST", "/api/v1/marketplace/orders", order_body("p"))[0] == 201
        assert time.monotonic() - t >= 0.18
    with blaster_serve("--app", "demo", "--close-rate", "1") as (url, _), Conn(url) as c:
        status, h, body = c.request("POST", "/api/v1/tracks/upload/initiate", b"{}")
        assert (status, h["connection"]) == (201, "close")
        assert UPLOAD_ID.match(json.loads(body)["data"]["upload_id"])
        assert c.at_eof()
    with blaster_serve("--app", "demo", "--reset-rate", "1") as (url, _), Conn(url) as c:
        c.send(req("GET", "/health"))
        with pytest.raises(ConnectionResetError):
            c.sock.recv(4096)


@pytest.mark.parametrize("args,flag", [
    (["--app", "shop"], "--app"),
    (["--app", "demo", "--hls-segments", "0"], "--hls-segments"),
    (["--app", "demo", "--segment-size", "lots"], "--segment-size"),
    (["--hls-segments", "5"], "--app demo"),
    (["--segment-size", "1KiB"], "--app demo"),
])
def test_bad_demo_flags_exit_1(blaster_bin, args, flag):
    proc = subprocess.run([BLASTER, "serve", "--listen", "127.0.0.1:0", *args],
                          capture_output=True, text=True, timeout=10)
    assert proc.returncode == 1, proc.stderr
    assert flag in proc.stderr and "Usage: blaster serve" in proc.stderr


def test_help_documents_the_demo_routes(blaster_bin):
    out = subprocess.run([BLASTER, "serve", "--help"], capture_output=True, text=True, timeout=10).stdout
    for text in ("--app demo", "/api/v1/tracks/upload/chunk", "master.m3u8", "/api/v1/marketplace/orders",
                 "/__stats", "--hls-segments", "--segment-size"):
        assert text in out
