"""`blaster run FILE` end to end against `blaster serve --app demo`: every
example runs with small VU counts and short durations, exit codes follow
k6's (0, 99 when a threshold fails, 1 for a bad file), and what the server
saw (/__stats) matches what the scenario asked for."""
import html as htmlmod
import json
import os
import subprocess
import tempfile
import urllib.request

import pytest

from conftest import BLASTER, ROOT, blaster_serve, cpu_hog

EXAMPLES = os.path.join(ROOT, "examples")


def stats(url):
    with urllib.request.urlopen(url + "__stats", timeout=5) as r:
        return json.load(r)


def run(args, timeout=120, cpus=None):
    """blaster run with --summary-export; cpus: its affinity mask."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "summary.json")
        proc = subprocess.run([BLASTER, "run", *args, "--summary-export", path],
                              capture_output=True, text=True, timeout=timeout,
                              preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
        summary = None
        if os.path.exists(path):
            with open(path) as f:
                summary = json.load(f)
        return proc, summary


def write(d, name, text):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(text)
    return p


def base(url):
    return url.rstrip("/")


SMALL = {
    "mixed.yaml": ["-e", "UPLOAD_VUS=2", "-e", "STREAM_VUS=4", "-e", "BROWSE_VUS=8",
                   "-e", "CHECKOUT_VUS=2", "-e", "DURATION=3s"],
    "smoke.yaml": ["-e", "ITERATIONS=3"],
    "ramping.yaml": ["-e", "STEP=1s", "-e", "BASE=2", "-e", "MID=4", "-e", "PEAK=6", "-e", "HOLD=1s"],
    "arrival-rate.yaml": ["-e", "RATE=50", "-e", "PEAK_RATE=200", "-e", "DURATION=2s",
                          "-e", "RAMP=2s", "-e", "HOLD=1s"],
}


@pytest.mark.parametrize("example", sorted(SMALL))
def test_every_example_runs_and_passes(blaster_bin, example):
    with blaster_serve("--app", "demo", "--hls-segments", "6", "--segment-size", "4KiB") as (url, _):
        proc, summary = run([os.path.join(EXAMPLES, example), "-e", f"BASE_URL={base(url)}",
                             *SMALL[example]])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert summary["metrics"]["http_reqs"]["values"]["count"] > 0
    for key, m in summary["metrics"].items():
        for expr, t in m.get("thresholds", {}).items():
            assert t["ok"], (key, expr, m["values"])


def test_failed_threshold_exits_99(blaster_bin):
    with blaster_serve("--app", "demo", "--error-rate", "0.5") as (url, _):
        proc, summary = run([os.path.join(EXAMPLES, "smoke.yaml"), "-e", f"BASE_URL={base(url)}",
                             *SMALL["smoke.yaml"]])
    assert proc.returncode == 99, proc.stdout + proc.stderr
    failed = summary["metrics"]["http_req_failed"]
    assert failed["thresholds"]["rate==0"]["ok"] is False
    assert "✗" in proc.stdout and "threshold" in proc.stderr


def test_shared_iterations_run_exactly_n(blaster_bin, tmp_path):
    with blaster_serve("--app", "demo") as (url, _):
        f = write(tmp_path, "shared.yaml", f"""
target: {base(url)}
scenarios:
  s:
    executor: shared-iterations
    vus: 5
    iterations: 37
    max_duration: 30s
    flow:
      - get: /health
""")
        proc, summary = run([f])
        seen = stats(url)
    assert proc.returncode == 0, proc.stderr
    assert summary["metrics"]["iterations"]["values"]["count"] == 37
    assert seen["health"] == 37


def test_capture_reaches_the_chunk_header(blaster_bin, tmp_path):
    with blaster_serve("--app", "demo") as (url, _):
        f = write(tmp_path, "upload.yaml", f"""
target: {base(url)}
scenarios:
  upload:
    executor: per-vu-iterations
    vus: 3
    iterations: 2
    flow:
      - post: /api/v1/tracks/upload/initiate
        json: {{total_chunks: 4, filename: "t-${{vu}}-${{iter}}.mp3"}}
        capture: {{upload_id: {{json: data.upload_id}}}}
        expect: {{status: 201}}
      - repeat: 4
        as: n
        steps:
          - post: /api/v1/tracks/upload/chunk
            headers: {{X-Upload-Id: "${{upload_id}}", X-Chunk-Number: "${{n}}"}}
            body: {{bytes: 1MiB}}
            expect: {{status: 200}}
""")
        proc, summary = run([f])
        seen = stats(url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The server accepts a chunk only with an upload id it issued.
    assert seen["upload_chunk"] == 3 * 2 * 4, seen
    assert seen["upload_chunk_rejected"] == 0, seen
    assert seen["chunk_bytes"] == 3 * 2 * 4 * 1048576
    assert summary["metrics"]["checks"]["values"]["rate"] == 1
    assert summary["blaster"]["scenarios"]["upload"]["bound_by"]["side"] == "server"


@pytest.mark.parametrize("segments,want", [(0, 5), (3, 3)])
def test_hls_fetches_exactly_the_listed_segments(blaster_bin, tmp_path, segments, want):
    with blaster_serve("--app", "demo", "--hls-segments", "5", "--segment-size", "2KiB") as (url, _):
        f = write(tmp_path, "hls.yaml", f"""
target: {base(url)}
scenarios:
  play:
    executor: per-vu-iterations
    vus: 2
    iterations: 3
    flow:
      - hls: {{master: /api/v1/tracks/t1/hls/master.m3u8, variant: highest, segments: {segments}}}
""")
        proc, summary = run([f])
        seen = stats(url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plays = 2 * 3
    assert seen["hls_master"] == plays and seen["hls_playlist"] == plays, seen
    assert seen["hls_segment"] == plays * want, seen
    assert seen["segments"] == {str(i): plays for i in range(want)}, seen


def test_bad_file_names_line_and_column(blaster_bin, tmp_path):
    f = write(tmp_path, "bad.yaml", "target: http://127.0.0.1:1\nscenarios:\n  a:\n    executor: constant-vus\n    vu: 3\n")
    proc = subprocess.run([BLASTER, "run", f], capture_output=True, text=True, timeout=10)
    assert proc.returncode == 1
    assert "bad.yaml:5:5:" in proc.stderr and "'vu'" in proc.stderr, proc.stderr


def test_k6_html_reporter_reads_the_export(blaster_bin, tmp_path):
    npm_dir = os.environ.get("NPM_DIR", os.path.join(ROOT, "build", "npm"))
    assert os.path.isdir(os.path.join(npm_dir, "node_modules", "k6-html-reporter")), \
        "run scripts/npm-deps.sh (make integration does)"
    with blaster_serve("--app", "demo", "--hls-segments", "6", "--segment-size", "4KiB") as (url, _):
        proc, summary = run([os.path.join(EXAMPLES, "mixed.yaml"), "-e", f"BASE_URL={base(url)}",
                             *SMALL["mixed.yaml"]])
    assert proc.returncode == 0, proc.stderr
    js = tmp_path / "summary.json"
    js.write_text(json.dumps(summary))
    out = tmp_path / "html"
    script = ("const r = require(process.argv[1]);"
              "r.generateSummaryReport({jsonFile: process.argv[2], output: process.argv[3]});")
    node = subprocess.run(["node", "-e", script, os.path.join(npm_dir, "node_modules", "k6-html-reporter"),
                           str(js), str(out)], capture_output=True, text=True, timeout=60)
    assert node.returncode == 0, node.stderr
    html = (out / "report.html").read_text()
    keys = [k for k, m in summary["metrics"].items() if m.get("thresholds")]
    assert len(keys) == 9, keys  # every threshold key of mixed.yaml
    for k in keys:
        assert k in html, f"{k} missing from the HTML report"
        for expr in summary["metrics"][k]["thresholds"]:
            assert htmlmod.escape(expr, quote=False) in html, f"{k}: {expr} missing from the HTML report"


def test_abort_on_fail_stops_the_run_early(blaster_bin, tmp_path):
    # Every response takes 50 ms: p(95)<10 fails from the first samples;
    # after delay_abort_eval the run stops instead of going on for 60 s.
    with blaster_serve("--app", "demo", "--delay", "50ms") as (url, _):
        f = write(tmp_path, "abort.yaml", f"""
target: {base(url)}
thresholds:
  http_req_duration:
    - threshold: "p(95)<10"
      abort_on_fail: true
      delay_abort_eval: 1s
scenarios:
  s:
    executor: constant-vus
    vus: 4
    duration: 60s
    flow:
      - get: /health
""")
        proc, summary = run([f], timeout=60)
    assert proc.returncode == 99, proc.stdout + proc.stderr
    assert summary["blaster"]["aborted_by"] == "http_req_duration: p(95)<10", summary["blaster"]
    assert summary["state"]["testRunDurationMs"] < 15000
    assert "aborted" in proc.stderr


def test_graceful_ramp_down_interrupts_after_its_window(blaster_bin, tmp_path):
    # 4 VUs each think 20 s per iteration; the target drops to 0 after 1 s.
    # With graceful_ramp_down 1s they are interrupted about 1 s later, not
    # after their 20 s iterations.
    with blaster_serve("--app", "demo") as (url, _):
        f = write(tmp_path, "ramp.yaml", f"""
target: {base(url)}
scenarios:
  s:
    executor: ramping-vus
    start_vus: 4
    stages:
      - duration: 1s
        target: 4
      - duration: 0s
        target: 0
      - duration: 5s
        target: 0
    graceful_ramp_down: 1s
    graceful_stop: 30s
    flow:
      - get: /health
      - think: 20s
""")
        proc, summary = run([f], timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sc = summary["blaster"]["scenarios"]["s"]
    assert sc["interrupted_iterations"] == 4, sc
    assert sc["iterations"] == 0, sc
    assert summary["state"]["testRunDurationMs"] < 10000


def test_late_think_timers_count_in_client_lag(blaster_bin, tmp_path):
    """VUs that think between requests: when a higher-priority busy process
    holds the client's CPU, their sends leave late, and client_lag and the
    verdict must say so (a flow that ends with a think included)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("needs two CPUs")
    with blaster_serve("--app", "demo", "--threads", "1", cpus={cpus[1]}) as (url, _):
        f = write(tmp_path, "think.yaml", f"""
target: {base(url)}
scenarios:
  s:
    executor: constant-vus
    vus: 20
    duration: 3s
    flow:
      - get: /health
      - think: 5ms
""")
        with cpu_hog(cpus[0]):
            proc, summary = run(["-t", "1", f], timeout=60, cpus={cpus[0]})
    assert proc.returncode == 0, proc.stderr
    lag = summary["metrics"]["client_lag"]["values"]
    assert lag["p(99)"] > 1.0, lag
    sc = summary["blaster"]["scenarios"]["s"]
    assert sc["sent_on_time"] < 0.99
    assert sc["bound_by"]["side"] == "client", sc["bound_by"]
    assert summary["blaster"]["verdict"]["status"] == "CLIENT-LIMITED"
    assert "s: bounded by the client" in proc.stdout
