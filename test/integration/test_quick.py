"""Quick mode end to end: the real binary against nginx and `blaster serve` on
loopback. Each test asserts a promise a user relies on; every server and run
is bounded in time."""
import os
import signal
import subprocess
import tempfile
import json
import time

import pytest

from conftest import BLASTER, blaster_serve, cpu_hog, free_port, nginx, run_blaster, stop


def status_count(run, code):
    return run.summary["blaster"]["status_codes"].get(str(code), 0)


def errors(run):
    return run.summary["blaster"]["errors"]


def test_2xx_count_matches_nginx_access_log(blaster_bin):
    with nginx() as (url, access_log):
        run = run_blaster(["-t", "2", "-c", "20", "-d", "2s", url])
        assert run.returncode == 0, run.stderr
        with open(access_log) as f:
            lines = [l for l in f if l.strip()]
    served_200 = sum(1 for l in lines if '" 200 ' in l)
    ours = status_count(run, 200)
    assert ours > 1000, run.stdout
    # Every request nginx answered, blaster counted, and no more.
    assert ours == served_200, f"blaster counted {ours} 200s, nginx logged {served_200}"
    assert run.summary["blaster"]["interrupted"] == 0
    assert run.metric("http_reqs")["count"] == ours
    assert run.metric("http_req_failed")["rate"] == 0


def test_open_model_sends_the_scheduled_count(blaster_bin):
    with blaster_serve() as (url, _):
        run = run_blaster(["-t", "1", "-c", "20", "-d", "5s", "-R", "2000", url])
    assert run.returncode == 0, run.stderr
    n = run.metric("http_reqs")["count"]
    assert abs(n - 10000) <= 100, f"-R 2000 for 5s sent {n} requests, expected 10000 +-1%"
    assert run.metric("dropped_iterations")["count"] == 0


def test_poisson_schedule_keeps_the_mean_rate(blaster_bin):
    with blaster_serve() as (url, _):
        run = run_blaster(["-t", "1", "-c", "20", "-d", "4s", "-R", "2000", "--poisson", url])
    assert run.returncode == 0, run.stderr
    n = run.metric("http_reqs")["count"]
    # Poisson arrivals: 8000 expected, standard deviation ~90.
    assert 7500 <= n <= 8500, n
    assert run.summary["blaster"]["model"] == "open-poisson"


def test_stall_shows_in_duration_not_in_service(blaster_bin):
    # The server freezes for 1 s every 2 s; requests due meanwhile wait.
    with blaster_serve("--stall", "1s@2s") as (url, _):
        run = run_blaster(["-t", "1", "-c", "20", "-d", "5s", "-R", "1000", url], timeout=60)
    assert run.returncode == 0, run.stderr
    dur = run.metric("http_req_duration")
    svc = run.metric("http_req_service")
    assert dur["p(99)"] >= 900, f"stall not visible in http_req_duration p99: {dur}"
    assert svc["p(99)"] < 500, f"http_req_service p99 should not see the stall: {svc}"
    assert run.summary["blaster"]["queued"] > 0


def test_closed_model_says_it_cannot_see_stalls(blaster_bin):
    with blaster_serve() as (url, _):
        run = run_blaster(["-t", "1", "-c", "4", "-d", "1s", url])
    assert run.returncode == 0
    assert "closed model" in run.stdout and "stall" in run.stdout


def test_resets_are_classified_and_not_fatal(blaster_bin):
    with blaster_serve("--reset-rate", "0.05") as (url, _):
        run = run_blaster(["-t", "1", "-c", "10", "-d", "2s", "-R", "2000", url])
    assert run.returncode == 0, run.stderr
    assert errors(run)["reset"] > 0, run.stdout
    assert status_count(run, 200) > 1000
    for cls in ("refused", "parse", "timeout"):
        assert errors(run)[cls] == 0, (cls, run.stdout)
    failed = run.metric("http_req_failed")
    assert failed["passes"] == errors(run)["reset"]


def test_garbage_responses_are_parse_errors(blaster_bin):
    with blaster_serve("--garbage-rate", "0.05") as (url, _):
        run = run_blaster(["-t", "1", "-c", "10", "-d", "2s", "-R", "2000", url])
    assert run.returncode == 0, run.stderr
    assert errors(run)["parse"] > 0, run.stdout
    assert status_count(run, 200) > 1000
    assert "parse=" in run.stdout


def test_server_errors_count_as_failed(blaster_bin):
    with blaster_serve("--error-rate", "0.2") as (url, _):
        run = run_blaster(["-t", "1", "-c", "10", "-d", "2s", "-R", "2000", url])
    assert run.returncode == 0
    n500, n200 = status_count(run, 500), status_count(run, 200)
    assert n500 > 0 and n200 > 0
    assert run.metric("http_req_failed")["passes"] == n500
    assert 0.1 < n500 / (n500 + n200) < 0.3


def test_connection_close_reconnects(blaster_bin):
    with blaster_serve("--close-rate", "0.5") as (url, _):
        run = run_blaster(["-t", "1", "-c", "5", "-d", "2s", "-R", "1000", url])
    assert run.returncode == 0
    assert run.metric("http_req_failed")["rate"] == 0, run.stdout
    assert run.summary["blaster"]["connects"] > 100


def test_timeout_is_classified(blaster_bin):
    with blaster_serve("--delay", "3s") as (url, _):
        run = run_blaster(["-t", "1", "-c", "2", "-d", "1s", "--timeout", "500ms", url], timeout=30)
    # Every request timed out: no request succeeded, which is not a run to exit 0 on (issue 10).
    assert run.returncode == 2, run.stderr
    assert "no request succeeded" in run.stderr and "most with timeout" in run.stderr, run.stderr
    assert errors(run)["timeout"] > 0, run.stdout


def test_nothing_listening_is_a_runtime_error(blaster_bin):
    port = free_port()  # nothing listens there
    run = run_blaster(["-t", "1", "-c", "4", "-d", "10s", f"http://127.0.0.1:{port}/"], timeout=20)
    assert run.returncode == 2
    assert "refused" in run.stderr
    assert errors(run)["refused"] >= 4


def test_sigint_mid_run_prints_the_summary(blaster_bin):
    with blaster_serve() as (url, _):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "s.json")
            proc = subprocess.Popen([BLASTER, "-t", "1", "-c", "4", "-d", "60s", "-R", "500",
                                     "--summary-export", path, url],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                time.sleep(1.5)
                proc.send_signal(signal.SIGINT)
                out, err = proc.communicate(timeout=10)
            finally:
                stop(proc)
            assert proc.returncode == 105, err  # k6's ExternalAbort (issue 10: was 0)
            assert "http_reqs" in out and "stopped early" in out
            with open(path) as f:
                summary = json.load(f)
    assert summary["blaster"]["stopped"] is True
    assert summary["metrics"]["http_reqs"]["values"]["count"] > 200


def test_usage_errors_name_the_flag(blaster_bin):
    for args, needle in ((["-c", "abc", "http://127.0.0.1:1/"], "-c"),
                         (["--nope", "http://127.0.0.1:1/"], "--nope"),
                         (["-d", "10parsecs", "http://127.0.0.1:1/"], "-d"),
                         (["ftp://127.0.0.1/"], "ftp"),
                         ([], "URL")):
        proc = subprocess.run([BLASTER, *args], capture_output=True, text=True, timeout=10)
        assert proc.returncode == 1, (args, proc.stderr)
        assert needle in proc.stderr, (args, proc.stderr)
        assert "Usage:" in proc.stderr


def test_verdict_ok_on_a_clean_run(blaster_bin):
    """The issue's clean run (server alone on one CPU, -R1000 on the other):
    never CLIENT-LIMITED for the client's own sake. On a VM whose timers wake
    late against a sub-millisecond p95 the verdict names the host
    (HOST-LIMITED) instead: test_verdict.py has the details."""
    from test_verdict import assert_not_client_limited, clean_run
    if os.environ.get("BLASTER_SANITIZED"):
        pytest.skip("a sanitizer build is slow enough to be CLIENT-LIMITED, rightly")
    assert_not_client_limited(clean_run(1000))


def test_verdict_client_limited_when_starved(blaster_bin):
    """A busy process pinned to the client's CPU, at a higher priority (the
    scheduler favours a waking client over an equal-priority hog, which then
    barely delays it): the worker waits for its CPU, and the verdict must say
    so."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("needs two CPUs")
    with cpu_hog(cpus[0]):
        with blaster_serve("--threads", "1", cpus={cpus[1]}) as (url, proc):
            run = run_blaster(["-t", "1", "-c", "10", "-d", "3s", "-R", "5000", url],
                              cpus={cpus[0]})
    assert run.returncode == 0
    v = run.summary["blaster"]["verdict"]
    assert v["status"] == "CLIENT-LIMITED", v
    assert any("waited for its CPU" in r or "client_lag" in r for r in v["reasons"]), v
    assert "CLIENT-LIMITED" in run.stdout
