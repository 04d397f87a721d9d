"""Limits are checked before the run, not discovered by it (issue 10, item 5):
more connections than a worker's ring holds, more than the ephemeral ports
of one destination, a ring whose setup fails, and a run in which no request
got a response. Each ends with a message that names the numbers and the
fix, and a non-zero exit; never a signal, never "client verdict: OK"."""
import os
import resource
import subprocess

from conftest import BLASTER, blaster_serve, free_port, run_blaster


def run_limited(args, nofile=None, timeout=60, cpus=None):
    """blaster with the open-file limit lowered to nofile, soft and hard, as
    `ulimit -n` does (liburing raises the soft limit to the hard one when a
    ring's file table needs it)."""
    def lower():
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        if cpus is not None:
            os.sched_setaffinity(0, cpus)
    return subprocess.run([BLASTER, *args], capture_output=True, text=True, timeout=timeout,
                          preexec_fn=lower)


def port_range():
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        lo, hi = f.read().split()
    return int(lo), int(hi)


def assert_failed_cleanly(r, code):
    assert r.returncode == code, f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    assert "client verdict: OK" not in r.stdout, r.stdout
    assert "AddressSanitizer" not in r.stderr, r.stderr


def test_ring_setup_that_fails_names_the_limit_and_the_flag(blaster_bin):
    # 2000 connections in one worker's ring, 1024 open files allowed: the
    # ring's file table cannot be registered. Its setup used to free its
    # buffers twice (SIGSEGV after the summary).
    with blaster_serve() as (url, _):
        r = run_limited(["-t", "1", "-c", "2000", "-d", "1s", url], nofile=1024)
    assert_failed_cleanly(r, 2)
    assert "2000 connections in one worker" in r.stderr, r.stderr
    assert "at most 1024" in r.stderr and "ulimit -n" in r.stderr, r.stderr
    assert "-t 2" in r.stderr, r.stderr


def test_more_connections_than_a_ring_holds_with_one_worker(blaster_bin):
    # -t 1 -c 20001 used to print an all-zero "OK" summary, then segfault.
    nofile = min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 20000)
    n = nofile + 1
    port = free_port()  # nothing need listen: the ring is made before any connect
    r = run_limited(["-t", "1", "-c", str(n), "-d", "1s", f"http://127.0.0.1:{port}/"], nofile=nofile)
    assert_failed_cleanly(r, 2)
    assert f"{n} connections in one worker" in r.stderr, r.stderr
    assert f"at most {nofile}" in r.stderr and "-t 2" in r.stderr, r.stderr


def test_thirty_thousand_connections_with_one_worker(blaster_bin):
    # Refused (by the ports of one destination, or the worker's ring), or
    # run correctly: never a signal, never an "OK" over nothing.
    with blaster_serve() as (url, _):
        r = run_limited(["-t", "1", "-c", "30000", "-d", "1s", url], timeout=60)
    assert r.returncode >= 0, f"killed by signal {-r.returncode}"
    if r.returncode != 0:
        assert_failed_cleanly(r, r.returncode)
        assert "30000 connections" in r.stderr, r.stderr


def test_without_t_more_workers_hold_the_connections(blaster_bin):
    # With a 1024 open-file limit, 2000 connections need two rings: without
    # -t blaster runs the workers they need, even on one CPU.
    with blaster_serve() as (url, _):
        r = run_limited(["-c", "2000", "-d", "1s", "-v", url], nofile=1024, timeout=60, cpus={0})
    assert r.returncode == 0, r.stdout + r.stderr
    workers = int(r.stderr.split("blaster: ", 1)[1].split(" workers")[0])
    assert workers >= 2, r.stderr
    assert "client verdict" in r.stdout


def test_connections_beyond_the_port_range_are_refused_up_front(blaster_bin):
    lo, hi = port_range()
    ports = hi - lo + 1
    port = free_port()
    r = run_limited(["-t", "2", "-c", str(ports + 1), "-d", "1s", f"http://127.0.0.1:{port}/"],
                    timeout=20)
    assert_failed_cleanly(r, 1)
    assert f"{ports + 1} connections to 127.0.0.1:{port}" in r.stderr, r.stderr
    assert f"{lo}-{hi}" in r.stderr and f"{ports} source ports" in r.stderr, r.stderr
    assert "not supported yet" in r.stderr, r.stderr
    assert r.stdout == "", "refused before the run: no summary"


def test_a_run_in_which_every_request_failed_is_not_ok(blaster_bin):
    with blaster_serve("--reset-rate", "1") as (url, _):
        r = run_blaster(["-t", "1", "-c", "4", "-d", "1s", url], timeout=30)
    assert_failed_cleanly(r, 2)
    assert "no request succeeded" in r.stderr and "most with reset" in r.stderr, r.stderr
    assert "no request succeeded" in r.summary["blaster"]["error"], "the export says why"
