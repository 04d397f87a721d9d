#!/usr/bin/python3
"""The measuring half of scripts/bench.sh: bash starts servers and decides what to run,
this runs one client, measures it, and writes the final table.

  bench-helper.py freeport
      print a free TCP port on 127.0.0.1
  bench-helper.py waitport PORT PID SECONDS
      wait until 127.0.0.1:PORT accepts; fail early if process PID is gone
  bench-helper.py run --runs FILE --section S --tool T --conns N --rep R
                      --timeout SECONDS --log FILE [--summary FILE] [--name NAME]
                      [--rss-at SECONDS --port PORT] -- COMMAND...
      run COMMAND (bash has already put `taskset -c CPU` in front), kill it after
      SECONDS, take its CPU time from the kernel (wait4's rusage: user + sys of
      the client and all its threads), parse what the tool printed, and append
      one JSON record to FILE (under NAME, default T: T says how to parse the
      output, NAME tells apart two runs of one tool). With --rss-at, read the client's VmRSS after that
      many seconds and count its established connections to PORT.
  bench-helper.py report --runs FILE --meta FILE
      print the markdown results table of every record in FILE

Exit status of `run`: 0 when the client ran and reported requests, 1 otherwise
(the record is written either way, with "ok": false and the reason).
"""
import argparse
import json
import os
import re
import shlex
import signal
import socket
import statistics
import sys
import time


# --- freeport / waitport -----------------------------------------------------------

def cmd_freeport(_args):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()
    return 0


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by bash) is as good as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def cmd_waitport(args):
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        if not alive(args.pid):
            print(f"process {args.pid} exited before listening on 127.0.0.1:{args.port}",
                  file=sys.stderr)
            return 1
        try:
            with socket.create_connection(("127.0.0.1", args.port), timeout=0.5):
                return 0
        except OSError:
            time.sleep(0.05)
    print(f"nothing listens on 127.0.0.1:{args.port} after {args.seconds}s", file=sys.stderr)
    return 1


# --- run ----------------------------------------------------------------------------

def vmrss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def established_to(port):
    """Client-side TCP connections to 127.0.0.1:port in state ESTABLISHED. Counted
    from /proc/net/tcp, not from the client's fd table: blaster's sockets are
    io_uring direct descriptors and have no fd."""
    want = f"0100007F:{port:04X}"
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[2] == want and fields[3] == "01":
                n += 1
    return n


def parse_wrk(text, rec):
    m = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m)\b", text, re.M)
    if m:
        rec["count"] = int(m.group(1))
    m = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    if m:
        rec["rate"] = float(m.group(1))
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        errors += sum(int(x) for x in m.groups())
        rec["error_detail"] = m.group(0)
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        errors += int(m.group(1))
        rec["error_detail"] = "; ".join(filter(None, (rec.get("error_detail"), m.group(0))))
    rec["errors"] = errors


def parse_h2load(text, rec):
    m = re.search(r"finished in ([\d.]+)s, ([\d.]+) req/s", text)
    if m:
        rec["rate"] = float(m.group(2))
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", text)
    if m:
        rec["count"] = int(m.group(4))
        rec["errors"] = int(m.group(5))  # "failed" includes errored and timeout
        rec["error_detail"] = m.group(0)
    m = re.search(r"^TLS Protocol: (\S+)", text, re.M)
    if m:
        rec["tls_protocol"] = m.group(1)
        # h2load makes a full handshake for every connection (no resumption).
        rec["tls_resumed"] = 0
    m = re.search(r"^Cipher: (\S+)", text, re.M)
    if m:
        rec["tls_cipher"] = m.group(1)


def parse_blaster(path, rec):
    with open(path) as f:
        d = json.load(f)
    m = d["metrics"]
    rec["count"] = int(m["http_reqs"]["values"]["count"])
    rec["rate"] = float(m["http_reqs"]["values"]["rate"])
    # k6's Rate metric: "passes" counts the true values, here the failed requests.
    rec["errors"] = int(m.get("http_req_failed", {}).get("values", {}).get("passes", 0))
    rec["dropped"] = int(m.get("dropped_iterations", {}).get("values", {}).get("count", 0))
    lag = m.get("client_lag", {}).get("values", {})
    if "p(99)" in lag:
        rec["lag_p99_ms"] = float(lag["p(99)"])
    dur = m.get("http_req_duration", {}).get("values", {})
    if "p(99)" in dur:
        rec["duration_p99_ms"] = float(dur["p(99)"])
    hs = m.get("tls_handshakes", {}).get("values", {})
    if "count" in hs:
        rec["tls_handshakes"] = int(hs["count"])
        rec["tls_handshake_rate"] = float(hs.get("rate", 0))
    hsd = m.get("http_req_tls_handshaking", {}).get("values", {})
    if "med" in hsd:
        rec["tls_handshaking_med_ms"] = float(hsd["med"])
    b = d.get("blaster", {})
    tls = b.get("tls") or {}
    if "resumed" in tls:
        rec["tls_resumed"] = int(tls["resumed"])
    if tls.get("protocol"):
        rec["tls_protocol"] = tls["protocol"]
    detail = [f"{k}={v}" for k, v in b.get("errors", {}).items() if v]
    detail += [f"status {k}: {v}" for k, v in b.get("status_codes", {}).items()
               if not 200 <= int(k) < 400]
    if b.get("interrupted"):
        detail.append(f"interrupted={b['interrupted']}")
    if detail:
        rec["error_detail"] = ", ".join(detail)
    v = b.get("verdict", {})
    if v:
        rec["verdict"] = v.get("status")
        rec["verdict_reasons"] = v.get("reasons", [])
        # The share of the run its busiest-waiting worker was runnable but not
        # running: other processes on the client CPU, i.e. how noisy the run was.
        waits = [w["wait"] for w in v.get("workers", []) if w.get("wait") is not None]
        if waits:
            rec["cpu_wait"] = max(waits)


def cmd_run(args):
    cmd = args.command
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    rec = {"section": args.section, "tool": args.name or args.tool, "conns": args.conns, "rep": args.rep,
           "cmd": shlex.join(cmd), "ok": False}
    if args.summary and os.path.exists(args.summary):
        os.unlink(args.summary)

    # The client gets its own process group so a timeout or a ^C of bench.sh
    # takes down everything it started.
    log = open(args.log, "wb")
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.setpgid(0, 0)
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    log.close()

    # Interrupted: stop the client, then die of the same signal, so that bash
    # sees a child killed by SIGINT/SIGTERM and runs its own trap.
    def stop(signum, _frame):
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    status = None
    rusage = None
    timed_out = False
    sampled = args.rss_at is None
    killed_at = None
    while status is None:
        wpid, st, ru = os.wait4(pid, os.WNOHANG)
        if wpid == pid:
            status, rusage = st, ru
            break
        now = time.monotonic() - t0
        if not sampled and now >= args.rss_at:
            sampled = True
            try:
                rec["rss_kib"] = vmrss_kib(pid)
                if args.port:
                    rec["established"] = established_to(args.port)
            except OSError as e:
                rec["reason"] = f"could not sample RSS: {e}"
        if now >= args.timeout and killed_at is None:
            timed_out = True
            killed_at = now
            os.killpg(pid, signal.SIGTERM)
        elif killed_at is not None and now >= killed_at + 5:
            os.killpg(pid, signal.SIGKILL)
        time.sleep(0.02)
    rec["wall_s"] = round(time.monotonic() - t0, 3)
    rec["cpu_user_s"] = rusage.ru_utime
    rec["cpu_sys_s"] = rusage.ru_stime
    rec["rc"] = os.waitstatus_to_exitcode(status)
    rec["log"] = args.log

    with open(args.log, "r", errors="replace") as f:
        text = f.read()
    parse_error = None
    try:
        if args.tool == "wrk":
            parse_wrk(text, rec)
        elif args.tool == "h2load":
            parse_h2load(text, rec)
        elif args.tool == "blaster":
            parse_blaster(args.summary, rec)
    except (OSError, ValueError, KeyError) as e:
        parse_error = f"could not read the results: {e}"

    # What the tool said about a failure: its first error line, else its last line.
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    errs = [l for l in lines if re.search(r"error|fail|cannot|could not|refused|^\w+:", l, re.I)]
    said = f": {(errs or lines[-1:] or [''])[0][:200]}" if lines else ""
    if timed_out:
        rec["reason"] = f"timed out after {args.timeout:g}s and was killed"
    elif rec["rc"] != 0:
        rec["reason"] = f"exit status {rec['rc']}{said}"
    elif parse_error:
        rec["reason"] = parse_error
    elif not rec.get("count"):
        rec["reason"] = f"no requests reported{said}"
    elif args.rss_at is not None and rec.get("rss_kib") is None:
        rec["reason"] = rec.get("reason", "exited before the RSS sample")
    else:
        rec["ok"] = True
    if rec.get("count"):
        rec["cpu_us_per_req"] = (rec["cpu_user_s"] + rec["cpu_sys_s"]) * 1e6 / rec["count"]
    # The handshakes row: a new connection per request. blaster counts its
    # handshakes; h2load's are its requests (the server closes after each one).
    if args.section == "handshakes" and rec.get("count"):
        if args.tool == "h2load":
            rec["tls_handshakes"] = rec["count"]
            rec["tls_handshake_rate"] = rec.get("rate")
        if rec.get("tls_handshakes"):
            rec["cpu_us_per_hs"] = ((rec["cpu_user_s"] + rec["cpu_sys_s"]) * 1e6
                                    / rec["tls_handshakes"])

    with open(args.runs, "a") as f:
        f.write(json.dumps(rec) + "\n")
    brief = (f"  {rec['tool']:8} c={args.conns:<6} rep {args.rep}: "
             + (f"{rec.get('rate', 0):>10.0f} req/s  "
                f"{rec.get('cpu_us_per_req', float('nan')):6.2f} µs CPU/req  "
                f"errors {rec.get('errors', '?')}"
                if rec.get("count") else "")
             + (f"  {rec['tls_handshake_rate']:.0f} handshakes/s "
                f"{rec.get('cpu_us_per_hs', float('nan')):.0f} µs CPU/handshake"
                if rec.get("cpu_us_per_hs") else "")
             + (f"  RSS {rec['rss_kib']} KiB, {rec.get('established', '?')} established"
                if rec.get("rss_kib") is not None else "")
             + ("" if rec["ok"] else f"  FAILED: {rec.get('reason')} (log: {args.log})"))
    print(brief, file=sys.stderr)
    return 0 if rec["ok"] else 1


# --- report -------------------------------------------------------------------------

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec, unit=""):
    return "n/a" if x is None else format(x, spec) + unit


def verdict(ok, rule):
    if ok is None:
        return f"n/a ({rule})"
    return f"**{'PASS' if ok else 'MISS'}** ({rule})"


def closed_table(w, runs, good, failed, section, title, limit, rule):
    """The closed-model table of SECTION: wrk, blaster, h2load per connection
    count, ratios to wrk within a repetition; blaster's CPU/req ratio checked
    against LIMIT."""
    thr = [r for r in good if r["section"] == section]
    # Only the old-vs-new pairs ran (BENCH_COMPARE_ONLY): their own table shows them.
    if not any(r["section"] == section and r["tool"] in ("wrk", "h2load") for r in runs):
        return
    w(f"## {title}")
    w("")
    w("| conns | client | req/s | × wrk | CPU µs/req | × wrk | errors (sum) | runs | target |")
    w("|---:|---|---:|---:|---:|---:|---:|---:|---|")
    conns_list = sorted({r["conns"] for r in runs if r["section"] == section})
    for c in conns_list:
        by_rep = {}
        for r in thr:
            if r["conns"] == c:
                by_rep.setdefault(r["rep"], {})[r["tool"]] = r
        for tool in ("wrk", "blaster", "h2load"):
            rs = [reps[tool] for reps in by_rep.values() if tool in reps]
            rate = median([r.get("rate") for r in rs])
            cpu = median([r.get("cpu_us_per_req") for r in rs])
            # Ratios are taken within a repetition (same minute, same noise)
            # and the median of those is shown.
            rr = median([reps[tool]["rate"] / reps["wrk"]["rate"]
                         for reps in by_rep.values()
                         if tool in reps and "wrk" in reps and reps["wrk"].get("rate")])
            cr = median([reps[tool]["cpu_us_per_req"] / reps["wrk"]["cpu_us_per_req"]
                         for reps in by_rep.values()
                         if tool in reps and "wrk" in reps
                         and reps["wrk"].get("cpu_us_per_req")])
            errs = sum(r.get("errors", 0) or 0 for r in rs)
            target = ""
            if tool == "blaster":
                target = verdict(None if cr is None else cr <= limit, rule)
            w(f"| {c} | {tool} | {fmt(rate, ',.0f')} | {fmt(rr, '.2f')} | {fmt(cpu, '.2f')} "
              f"| {fmt(cr, '.2f')} | {errs} | {len(rs)} | {target} |")
    w("")


COMPARE_LIMIT = 1.02
# blaster's own verdict calls a run client-limited past this CPU wait: a pair
# that ran like that measured the machine as much as the code.
NOISY_WAIT = 0.10


def noisy(rs):
    """A warning for the target column when the runs shared their CPU."""
    m = median([r.get("cpu_wait") for r in rs])
    if m is None or m <= NOISY_WAIT:
        return ""
    return f" — unreliable: the client waited for its CPU {100 * m:.0f}% of the time"


def pct(rs):
    m = median([r.get("cpu_wait") for r in rs])
    return None if m is None else 100 * m


def compare_table(w, runs, good, meta):
    """Old vs new blaster: the pairs of runs of the closed-model rows ("baseline"
    and "blaster" of one repetition ran back to back), per row req/s and CPU/req
    of both and new/old CPU per request, median of the repetitions' ratios,
    checked against COMPARE_LIMIT."""
    rows = [("throughput", "HTTP keep-alive"), ("https", "HTTPS keep-alive")]
    if not any(r["tool"] == "baseline" for r in runs):
        return
    w("## Old vs new blaster: closed model, both binaries in the same run")
    w("")
    w(f"- old: `{meta.get('baseline')}` ({meta.get('baseline_version') or '?'}; "
      f"commit {meta.get('baseline_commit') or 'unknown'})")
    w(f"- new: `{meta.get('blaster')}` ({meta.get('blaster_version') or '?'}; "
      f"tree at {meta.get('blaster_commit') or 'unknown'})")
    w("- Each repetition runs the two back to back against the same nginx (old first in "
      "odd repetitions, new first in even ones). A ratio is new ÷ old within one "
      "repetition; the table shows their median and, for the noise, their range.")
    w("- CPU wait: the share of the run blaster's worker was ready but another process had "
      "its CPU (median, old / new; from blaster's own verdict). On a quiet machine it is "
      f"about 0%; above {100 * NOISY_WAIT:.0f}% the target says the row is unreliable: "
      "the CPU/req numbers then carry the other processes' noise.")
    w("")
    w("| row | conns | old req/s | new req/s | new/old req/s | old CPU µs/req | new CPU µs/req "
      "| new/old CPU/req | range over reps | CPU wait old / new | errors (sum) | runs | target |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|")
    cmds = []
    for section, label in rows:
        pairs = [r for r in runs if r["section"] == section and r["tool"] in ("baseline", "blaster")]
        for c in sorted({r["conns"] for r in pairs}):
            by_rep = {}
            for r in good:
                if r["section"] == section and r["conns"] == c and r["tool"] in ("baseline", "blaster"):
                    by_rep.setdefault(r["rep"], {})[r["tool"]] = r
            old = [reps["baseline"] for reps in by_rep.values() if "baseline" in reps]
            new = [reps["blaster"] for reps in by_rep.values() if "blaster" in reps]
            both = [reps for reps in by_rep.values() if "baseline" in reps and "blaster" in reps]
            rr = median([b["blaster"]["rate"] / b["baseline"]["rate"] for b in both
                         if b["baseline"].get("rate")])
            crs = [b["blaster"]["cpu_us_per_req"] / b["baseline"]["cpu_us_per_req"] for b in both
                   if b["baseline"].get("cpu_us_per_req") and b["blaster"].get("cpu_us_per_req")]
            cr = median(crs)
            spread = f"{min(crs):.3f}–{max(crs):.3f}" if crs else "n/a"
            errs = sum(r.get("errors", 0) or 0 for r in old + new)
            ok = None if cr is None else cr <= COMPARE_LIMIT
            w(f"| {label} | {c} | {fmt(median([r.get('rate') for r in old]), ',.0f')} "
              f"| {fmt(median([r.get('rate') for r in new]), ',.0f')} | {fmt(rr, '.3f')} "
              f"| {fmt(median([r.get('cpu_us_per_req') for r in old]), '.3f')} "
              f"| {fmt(median([r.get('cpu_us_per_req') for r in new]), '.3f')} "
              f"| {fmt(cr, '.3f')} | {spread} "
              f"| {fmt(pct(old), '.0f', '%')} / {fmt(pct(new), '.0f', '%')} | {errs} | {len(both)} "
              f"| {verdict(ok, f'new/old CPU/req ≤ {COMPARE_LIMIT}')}"
              f"{noisy(old + new)} |")
            for tool in ("baseline", "blaster"):
                first = min((r for r in pairs if r["conns"] == c and r["tool"] == tool),
                            key=lambda r: r["rep"], default=None)
                if first:
                    cmds.append(f"{first['cmd']}   # {label}, {'old' if tool == 'baseline' else 'new'}")
    w("")
    w("Exact commands of the first repetition (ports change between invocations; "
      "the server is the first nginx of the Commands section for HTTP, the TLS one for HTTPS):")
    w("")
    w("```")
    for c in cmds:
        w(c)
    w("```")
    w("")


def handshakes_table(w, runs, good, failed, meta):
    hs = [r for r in good if r["section"] == "handshakes"]
    if not (hs or any(r["section"] == "handshakes" for r in failed)):
        return
    w(f"## Handshakes: a new connection and TLS handshake per request, "
      f"{meta.get('hs_conns', '?')} connections")
    w("")
    w("nginx closes after every response (`keepalive_requests 1`). h2load makes a full "
      "handshake each time; blaster resumes its last session unless `--no-resume`. "
      "No client verifies the certificate (blaster: `-k`). No target: for the record.")
    w("")
    w("| client | handshakes/s | × h2load | CPU µs/handshake | × h2load | resumed | "
      "TLS | errors (sum) | runs |")
    w("|---|---:|---:|---:|---:|---:|---|---:|---:|")
    by_rep = {}
    for r in hs:
        by_rep.setdefault(r["rep"], {})[r["tool"]] = r
    for tool in ("h2load", "blaster", "blaster --no-resume"):
        rs = [reps[tool] for reps in by_rep.values() if tool in reps]
        rate = median([r.get("tls_handshake_rate") for r in rs])
        cpu = median([r.get("cpu_us_per_hs") for r in rs])
        rr = median([reps[tool]["tls_handshake_rate"] / reps["h2load"]["tls_handshake_rate"]
                     for reps in by_rep.values()
                     if tool in reps and "h2load" in reps
                     and reps[tool].get("tls_handshake_rate")
                     and reps["h2load"].get("tls_handshake_rate")])
        cr = median([reps[tool]["cpu_us_per_hs"] / reps["h2load"]["cpu_us_per_hs"]
                     for reps in by_rep.values()
                     if tool in reps and "h2load" in reps
                     and reps[tool].get("cpu_us_per_hs") and reps["h2load"].get("cpu_us_per_hs")])
        n = sum(r.get("tls_handshakes", 0) for r in rs)
        res = sum(r.get("tls_resumed", 0) for r in rs)
        resumed = f"{100 * res / n:.1f}%" if n else "n/a"
        proto = ", ".join(sorted({r["tls_protocol"] + (f" {r['tls_cipher']}" if r.get("tls_cipher") else "")
                                  for r in rs if r.get("tls_protocol")})) or "?"
        errs = sum(r.get("errors", 0) or 0 for r in rs)
        w(f"| {tool} | {fmt(rate, ',.0f')} | {fmt(rr, '.2f')} | {fmt(cpu, '.0f')} | "
          f"{fmt(cr, '.2f')} | {resumed} | {proto} | {errs} | {len(rs)} |")
    w("")


def rate_table(w, good, failed, meta):
    """The open model at a fixed rate: blaster alone, its CPU/req and client_lag."""
    fx = [r for r in good if r["section"] == "rate"]
    if not (fx or any(r["section"] == "rate" for r in failed)):
        return
    w(f"## Fixed rate: {meta['rate']} req/s on {meta['rate_conns']} connections (blaster only)")
    w("")
    w("| client | req/s | CPU µs/req | client_lag p99 | http_req_duration p99 | "
      "dropped (sum) | errors (sum) | runs | target |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    rate = median([r.get("rate") for r in fx])
    cpu = median([r.get("cpu_us_per_req") for r in fx])
    lag_us = median([r["lag_p99_ms"] * 1000 for r in fx if "lag_p99_ms" in r])
    dur_us = median([r["duration_p99_ms"] * 1000 for r in fx if "duration_p99_ms" in r])
    dropped = sum(r.get("dropped", 0) for r in fx)
    errs = sum(r.get("errors", 0) or 0 for r in fx)
    w(f"| blaster | {fmt(rate, ',.0f')} | {fmt(cpu, '.2f')} | {fmt(lag_us, '.0f', ' µs')} "
      f"| {fmt(dur_us, '.0f', ' µs')} | {dropped} | {errs} | {len(fx)} | "
      f"{verdict(None if lag_us is None else lag_us <= 200, 'client_lag p99 ≤ 200 µs')} |")
    w("")
    w("wrk2-style open-model clients are not installed here, so this row has no comparison.")
    w("")


def idle_table(w, good, failed, meta):
    """Memory per idle connection: RSS at many connections minus at 10, blaster and wrk."""
    idle = [r for r in good if r["section"] == "idle"]
    if not (idle or any(r["section"] == "idle" for r in failed)):
        return
    n = meta["idle_conns"]
    w(f"## Memory per connection: {n} connections against {meta['idle_server']}")
    w("")
    w(f"RSS sampled {meta['idle_sample_s']} s into a {meta['idle_duration_s']} s run, "
      f"minus the same run with 10 connections, divided by {n - 10}.")
    w("")
    w("| client | load | RSS, 10 conns | RSS, "
      f"{n} conns | established at sample | KiB/conn | target |")
    w("|---|---|---:|---:|---:|---:|---|")
    for tool, load, rule in (("blaster", "idle (-R 1: one request/s in all)", True),
                             ("wrk", "**under full load** (wrk has no idle mode)", False)):
        small = median([r.get("rss_kib") for r in idle if r["tool"] == tool and r["conns"] == 10])
        big_r = [r for r in idle if r["tool"] == tool and r["conns"] == n]
        big = median([r.get("rss_kib") for r in big_r])
        est = median([r.get("established") for r in big_r])
        per = None if small is None or big is None else (big - small) / (n - 10)
        target = ""
        if rule:
            ok = None if per is None else per <= 2.0
            target = verdict(ok, "≤ 2 KiB per idle connection")
            if est is not None and est < n * 0.99:
                target += f" — only {est:.0f} of {n} connected at the sample"
        w(f"| {tool} | {load} | {fmt(small, ',.0f', ' KiB')} | {fmt(big, ',.0f', ' KiB')} | "
          f"{fmt(est, '.0f')} | {fmt(per, '.2f')} | {target} |")
    w("")
    w("The process fd limit here is 20000: wrk needs one fd per connection; blaster's "
      "sockets are io_uring direct descriptors and do not count against it.")
    w("")


def cmd_report(args):
    with open(args.meta) as f:
        meta = json.load(f)
    runs = []
    with open(args.runs) as f:
        for line in f:
            if line.strip():
                runs.append(json.loads(line))
    good = [r for r in runs if r["ok"]]
    failed = [r for r in runs if not r["ok"]]
    out = []
    w = out.append

    w("# blaster benchmark results")
    w("")
    if meta.get("title_note"):
        w(f"> {meta['title_note']}")
        w("")
    w(f"- Date: {meta['date']}")
    w(f"- Machine: {meta['cpu_model']}, {meta['cpus']} CPUs, Linux {meta['kernel']}")
    if meta.get("compare_only") == "1":
        w(f"- Tools: {meta['blaster_version']} ({meta['blaster']}) and the old blaster "
          f"({meta.get('baseline')}), {meta['nginx_version']}")
    else:
        w(f"- Tools: {meta['blaster_version']} ({meta['blaster']}), {meta['wrk_version']}, "
          f"{meta['h2load_version']}, {meta['nginx_version']}")
    w(f"- Server on CPU {meta['server_cpu']}, each client on CPU {meta['client_cpu']} with one "
      f"thread; {meta['duration_s']} s per run, {meta['reps']} repetition(s), median shown.")
    w(f"- nginx: `{meta['nginx_cmd']}` (config: scripts/nginx-bench.conf; "
      "HTTPS rows: scripts/nginx-bench-tls.conf, EC P-256 certificate made at start)")
    w("- Client CPU = user + sys of the client process and its threads (wait4 rusage), "
      "connection setup and teardown included, divided by the requests it reported.")
    w("")

    compare_table(w, runs, good, meta)

    # Closed model, as fast as nginx answers: over HTTP, then over HTTPS.
    closed_table(w, runs, good, failed, "throughput",
                 "Throughput: closed model against one nginx worker",
                 0.85, "CPU/req ≤ 0.85× wrk")
    closed_table(w, runs, good, failed, "https",
                 f"HTTPS: closed model against one nginx worker with TLS "
                 f"({meta.get('openssl_version', 'OpenSSL')} in wrk and h2load, wolfSSL in blaster)",
                 1.0, "CPU/req ≤ wrk")
    if any(r["tool"] in ("wrk", "h2load") for r in runs):
        w("Medians over the runs; a ratio is the median of the ratios within each repetition.")
        w("")

    rate_table(w, good, failed, meta)
    idle_table(w, good, failed, meta)

    handshakes_table(w, runs, good, failed, meta)

    # Client verdicts of blaster (its own opinion of whether it was the bottleneck).
    bl = [r for r in runs if r["tool"] == "blaster" and r.get("verdict")]
    if bl:
        limited = [r for r in bl if r["verdict"] != "OK"]
        w("## blaster's own client verdict")
        w("")
        w(f"{len(bl) - len(limited)} of {len(bl)} blaster runs said OK.")
        for r in limited:
            w(f"- {r['section']} c={r['conns']} rep {r['rep']}: {r['verdict']}: "
              + "; ".join(r.get("verdict_reasons", [])))
        w("")

    erred = [r for r in runs if r.get("errors")]
    if erred:
        w("## Runs with errors")
        w("")
        for r in erred:
            w(f"- {r['section']} {r['tool']} c={r['conns']} rep {r['rep']}: {r['errors']} errors "
              f"({r.get('error_detail', 'no detail')}), log {r.get('log')}")
        w("")

    if failed:
        w("## Failed runs (not in the medians)")
        w("")
        for r in failed:
            w(f"- {r['section']} {r['tool']} c={r['conns']} rep {r['rep']}: {r.get('reason')} "
              f"(`{r['cmd']}`, log {r.get('log')})")
        w("")

    w("## Commands")
    w("")
    w("Exact commands of the first repetition (ports change between invocations):")
    w("")
    w("```")
    seen = set()
    for r in runs:
        key = (r["section"], r["tool"], r["conns"])
        if key in seen:
            continue
        seen.add(key)
        w(r["cmd"])
    for s in meta.get("server_cmds", []):
        w(s + "   # server")
    w("```")
    print("\n".join(out))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    sub.add_parser("freeport")
    q = sub.add_parser("waitport")
    q.add_argument("port", type=int)
    q.add_argument("pid", type=int)
    q.add_argument("seconds", type=float)
    q = sub.add_parser("run")
    q.add_argument("--runs", required=True)
    q.add_argument("--section", required=True)
    q.add_argument("--tool", required=True, choices=("blaster", "wrk", "h2load"))
    q.add_argument("--conns", type=int, required=True)
    q.add_argument("--rep", type=int, required=True)
    q.add_argument("--timeout", type=float, required=True)
    q.add_argument("--log", required=True)
    q.add_argument("--summary")
    q.add_argument("--name")
    q.add_argument("--rss-at", type=float)
    q.add_argument("--port", type=int)
    q.add_argument("command", nargs=argparse.REMAINDER)
    q = sub.add_parser("report")
    q.add_argument("--runs", required=True)
    q.add_argument("--meta", required=True)
    args = p.parse_args()
    return {"freeport": cmd_freeport, "waitport": cmd_waitport, "run": cmd_run,
            "report": cmd_report}[args.what](args)


if __name__ == "__main__":
    sys.exit(main())
