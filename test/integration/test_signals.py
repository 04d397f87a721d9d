"""How a run ends when it is told to, or asks for more than can be scheduled:
rates beyond one arrival a nanosecond are refused before the run; any rate
below that ends on time (-d) and on the first Ctrl-C; a run stopped by
SIGINT or SIGTERM exits with k6's ExternalAbort code 105, its summary
printed and its --summary-export written. Wall-time bounds are generous (the
machine is shared): what they catch is a run that does not end at all, or
takes many times its duration."""
import json
import os
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import BLASTER, blaster_serve, run_blaster, stop


def write(d, name, text):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(text)
    return p


def timed_run(args, timeout=60):
    t0 = time.monotonic()
    run = run_blaster(args, timeout=timeout)
    return run, time.monotonic() - t0


def test_rate_beyond_one_a_nanosecond_is_refused_up_front(blaster_bin):
    t0 = time.monotonic()
    proc = subprocess.run([BLASTER, "-t", "1", "-c", "2", "-d", "1s", "-R", "1000000000000000",
                           "http://127.0.0.1:1/"], capture_output=True, text=True, timeout=30)
    assert time.monotonic() - t0 < 10
    assert proc.returncode == 1, proc.stderr
    assert "-R: at most 1G requests/s" in proc.stderr


def test_the_highest_rate_allowed_ends_on_time(blaster_bin):
    # 1G/s on one worker is ~50,000 times what it can send: nearly all of it
    # is dropped_iterations, counted by arithmetic, and -d 3s still ends the
    # run (taken one by one, 3e9 arrivals took over 15 s).
    with blaster_serve("-t", "1") as (url, _):
        run, wall = timed_run(["-t", "1", "-c", "2", "-d", "3s", "-R", "1G", url])
    assert run.returncode == 0, run.stderr
    assert wall < 10, wall
    done = run.metric("http_reqs")["count"]
    dropped = run.metric("dropped_iterations")["count"]
    assert 0 < done < 10_000_000
    # every arrival due in the 3 s is either sent or dropped (the ones in the
    # queue at the end count as dropped; a few in flight as interrupted)
    assert abs(done + dropped - 3_000_000_000) <= 1000, (done, dropped)


def test_ramping_arrival_rate_beyond_the_bound_is_refused(blaster_bin, tmp_path):
    f = write(tmp_path, "flood.yaml", """
target: http://127.0.0.1:1
scenarios:
  flood:
    executor: ramping-arrival-rate
    pre_allocated_vus: 2
    stages:
      - duration: 1s
        target: 1000000000000
    flow:
      - get: /
""")
    t0 = time.monotonic()
    proc = subprocess.run([BLASTER, "run", f], capture_output=True, text=True, timeout=30)
    assert time.monotonic() - t0 < 10
    assert proc.returncode == 1, proc.stderr
    assert "flood.yaml:9:17: stage 1's target: 1e+12 iterations/s is more than blaster can schedule" in proc.stderr


def test_ramping_arrival_rate_to_the_bound_ends_on_time(blaster_bin, tmp_path):
    with blaster_serve("-t", "1") as (url, _):
        f = write(tmp_path, "ramp.yaml", f"""
target: {url.rstrip('/')}
scenarios:
  ramp:
    executor: ramping-arrival-rate
    pre_allocated_vus: 2
    stages:
      - duration: 3s
        target: 1000000000
    flow:
      - get: /
""")
        run, wall = timed_run(["run", "-t", "1", f])
    assert run.returncode == 0, run.stderr
    assert wall < 10, wall
    assert run.metric("dropped_iterations")["count"] > 1_000_000_000


def signal_mid_run(args, sig, after=1.5):
    """Start blaster with args (and --summary-export), send sig after `after`
    seconds; returns (proc, stdout, stderr, seconds from the signal to the
    exit, the export parsed)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s.json")
        proc = subprocess.Popen([BLASTER, *args, "--summary-export", path],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(after)
            assert proc.poll() is None, proc.communicate()
            t0 = time.monotonic()
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=20)
            took = time.monotonic() - t0
        finally:
            stop(proc)
        with open(path) as f:
            summary = json.load(f)
    return proc, out, err, took, summary


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_run_with_105_summary_and_export(blaster_bin, sig):
    with blaster_serve() as (url, _):
        proc, out, err, took, summary = signal_mid_run(
            ["-t", "1", "-c", "4", "-d", "60s", "-R", "500", url], sig)
    assert proc.returncode == 105, err
    # the workers look at the stop flag every 100 ms: 1 s is the promise,
    # 3 s the margin for a loaded machine
    assert took < 3, took
    assert "http_reqs" in out and "http_req_duration" in out and "client verdict" in out
    assert "stopped early by a signal" in out
    assert "stopped by a signal" in err
    assert summary["blaster"]["stopped"] is True
    assert summary["metrics"]["http_reqs"]["values"]["count"] > 200


def test_first_sigint_stops_a_run_at_the_highest_rate(blaster_bin):
    # The hang of issue 10: at a rate no worker can keep up with, the first
    # Ctrl-C did nothing (the worker never came back to its loop).
    with blaster_serve("-t", "1") as (url, _):
        proc, out, err, took, summary = signal_mid_run(
            ["-t", "1", "-c", "2", "-d", "60s", "-R", "1G", url], signal.SIGINT, after=4)
    assert took < 3, took
    assert proc.returncode == 105, err
    assert summary["blaster"]["stopped"] is True
    assert summary["metrics"]["dropped_iterations"]["values"]["count"] > 100_000_000


def test_a_signal_wins_over_failing_thresholds_in_run_mode(blaster_bin, tmp_path):
    # k6: an aborted run exits 105 whatever its thresholds said so far.
    with blaster_serve("--app", "demo") as (url, _):
        f = write(tmp_path, "long.yaml", f"""
target: {url.rstrip('/')}
thresholds:
  http_reqs: ["count<1"]
scenarios:
  s:
    executor: constant-vus
    vus: 2
    duration: 60s
    flow:
      - get: /health
""")
        proc, out, err, took, summary = signal_mid_run(["run", f], signal.SIGTERM)
    assert proc.returncode == 105, err
    assert took < 3, took
    assert "http_reqs" in out
    assert summary["metrics"]["http_reqs"]["thresholds"]["count<1"]["ok"] is False
