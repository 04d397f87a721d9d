#!/usr/bin/python3
"""The scenario rows of `make bench`: examples/mixed.yaml at full size (1650
VUs in four parallel scenarios) and the upload scenario alone with 10 and 100
VUs, each against `blaster serve --app demo` pinned to the server CPU, the
client pinned to the client CPU. Prints a markdown section; exits 1 if a run
failed.

With --sections tls-upload (scripts/bench.sh's section of that name): the same
upload scenario with --tls-vus VUs over plain HTTP, over HTTPS with BLASTER
(wolfSSL with AES-NI) and over HTTPS with --debian-blaster (Debian's binary
libwolfssl, no AES-NI), against `blaster serve --app demo --tls --cert --key`
(always BLASTER), --reps times in rotating order, medians and ratios to HTTP.

Usage: bench-scenarios.py BLASTER CLIENT_CPU SERVER_CPU MIX_DURATION UPLOAD_DURATION
           [--sections "scenarios tls-upload"] [--reps N] [--tls-vus N]
           [--debian-blaster FILE] [--cert FILE --key FILE]"""
import argparse
import json
import os
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(blaster, cpu, port, *args):
    args = [a for a in args if a is not None]
    cmd = ["taskset", "-c", str(cpu), blaster, "serve", "--app", "demo", "--threads", "1",
           "--listen", f"127.0.0.1:{port}", "--exit-after", "30m", *args]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p, shlex.join(cmd)
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise SystemExit(f"blaster serve did not start: {p.stderr.read()}")


def run(cmd, timeout):
    """Run cmd; its own CPU time and peak RSS (wait4's rusage of that child
    alone), or None after a timeout."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - t0 > timeout:
                os.killpg(p.pid, signal.SIGKILL)
                os.wait4(p.pid, 0)
                return None
            time.sleep(0.05)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    return {"rc": p.returncode, "out": text, "wall": time.monotonic() - t0, "ru": ru}


def measure(blaster, ccpu, scpu, yaml, env, dur, label, results, client=None, tls=None):
    """One run of YAML by CLIENT (default BLASTER) against a fresh `BLASTER serve`;
    TLS = (cert, key): the server speaks HTTPS and the client does not verify."""
    port = free_port()
    server_tls = ["--tls", "--cert", tls[0], "--key", tls[1]] if tls else []
    server, scmd = serve(blaster, scpu, port, *server_tls)
    scheme = "https" if tls else "http"
    try:
        with tempfile.TemporaryDirectory() as d:
            js = os.path.join(d, "s.json")
            cmd = ["taskset", "-c", str(ccpu), client or blaster, "run", "-t", "1", yaml,
                   *(["-k"] if tls else []), "--summary-export", js,
                   "-e", f"BASE_URL={scheme}://127.0.0.1:{port}"]
            for k, v in env.items():
                cmd += ["-e", f"{k}={v}"]
            r = run(cmd, timeout=dur + 120)
            if r is None or not os.path.exists(js):
                results.append({"label": label, "failed": True, "cmd": shlex.join(cmd)})
                return
            with open(js) as f:
                s = json.load(f)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        # wait4, not wait: the server's own CPU time, to tell which side was busy.
        try:
            _, st, sru = os.wait4(server.pid, 0)
            server.returncode = os.waitstatus_to_exitcode(st)
            server_cpu = sru.ru_utime + sru.ru_stime
        except ChildProcessError:
            server.wait(10)
            server_cpu = None
    ru = r["ru"]
    results.append({"label": label, "cmd": shlex.join(cmd), "server": scmd, "rc": r["rc"],
                    "wall": r["wall"], "cpu": ru.ru_utime + ru.ru_stime, "maxrss_kib": ru.ru_maxrss,
                    "server_cpu": server_cpu, "summary": s})


def ms(v):
    return f"{v:.2f}" if v < 10 else f"{v:.0f}"


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec):
    return "n/a" if x is None else format(x, spec)


def tls_upload(a, secs):
    """The tls-upload section: prints its markdown, returns True if a run failed."""
    upload = os.path.join(ROOT, "scripts", "bench-upload.yaml")
    variants = [("HTTP", a.blaster, None),
                ("HTTPS, wolfSSL with AES-NI (build/blaster)", a.blaster, (a.cert, a.key))]
    have_debian = bool(a.debian_blaster) and os.access(a.debian_blaster, os.X_OK)
    if have_debian:
        variants.append(("HTTPS, Debian's libwolfssl, no AES-NI", a.debian_blaster, (a.cert, a.key)))
    env = {"UPLOAD_VUS": a.tls_vus, "DURATION": a.upload_duration}
    runs = {}  # (label, rep) -> result
    failed = False
    for rep in range(1, a.reps + 1):
        n = len(variants)
        for i in range(n):  # rotate the order, as bench.sh does
            label, client, tls = variants[(i + rep - 1) % n]
            print(f"== tls-upload: {label}, {a.tls_vus} VUs, rep {rep}", file=sys.stderr)
            res = []
            measure(a.blaster, a.client_cpu, a.server_cpu, upload, env, secs(a.upload_duration),
                    label, res, client=client, tls=tls)
            r = res[0]
            if not r.get("failed"):
                s = r["summary"]
                sent = s["metrics"]["data_sent"]["values"]["count"]
                el = s["blaster"].get("elapsed_s", r["wall"])
                errs = int(s["metrics"].get("http_req_failed", {}).get("values", {}).get("passes", 0))
                r["gibs"] = sent / el / 2**30
                r["cpu_per_mib"] = r["cpu"] * 1e6 / max(sent / 2**20, 1e-9)
                r["errors"] = errs
                r["verdict"] = s["blaster"]["verdict"]["status"]
                # Busy shares over the client's run (the server lived a little longer).
                r["client_busy"] = r["cpu"] / r["wall"]
                if r.get("server_cpu") is not None:
                    r["server_busy"] = r["server_cpu"] / r["wall"]
                r["hs"] = s["metrics"].get("tls_handshakes", {}).get("values", {}).get("count", 0)
                if r["rc"] != 0 or not sent:
                    r["failed"] = True
            if r.get("failed"):
                failed = True
            print(f"  {label}: " + (f"{r['gibs']:.2f} GiB/s, {r['cpu_per_mib']:.0f} µs CPU/MiB, "
                                    f"errors {r['errors']}, client CPU {r['client_busy']:.0%}, "
                                    f"server CPU {r.get('server_busy', float('nan')):.0%}"
                                    if "gibs" in r else "FAILED"),
                  file=sys.stderr)
            runs[(label, rep)] = r
    print(f"\n## HTTPS uploads: 1 MiB chunks, {a.tls_vus} VUs, to `blaster serve --tls`\n")
    print(f"Client: `blaster run -t 1 scripts/bench-upload.yaml` (`-k` over HTTPS) on CPU {a.client_cpu}; "
          f"server: `blaster serve --app demo --threads 1` (`--tls`, this build's wolfSSL with AES-NI) "
          f"on CPU {a.server_cpu}; {a.upload_duration} per run, {a.reps} repetition(s), medians; a "
          f"ratio is the median of the ratios to the HTTP run of the same repetition. Client CPU = "
          f"wait4 rusage of the client, per MiB of request bytes sent; client and server busy = each "
          f"process's CPU time ÷ the client's wall time (the server's includes its start and stop).\n")
    print("| client | sent GiB/s | × HTTP | client CPU µs/MiB | × HTTP | client busy | server busy "
          "| errors (sum) | runs | target |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for label, _, tls in variants:
        ok = [runs[(label, rep)] for rep in range(1, a.reps + 1)
              if not runs[(label, rep)].get("failed")]
        base = {rep: runs[("HTTP", rep)] for rep in range(1, a.reps + 1)
                if not runs[("HTTP", rep)].get("failed")}
        gibs = median([r["gibs"] for r in ok])
        cpu = median([r["cpu_per_mib"] for r in ok])
        gr = median([runs[(label, rep)]["gibs"] / base[rep]["gibs"] for rep in base
                     if not runs[(label, rep)].get("failed")])
        cr = median([runs[(label, rep)]["cpu_per_mib"] / base[rep]["cpu_per_mib"] for rep in base
                     if not runs[(label, rep)].get("failed")])
        target = ""
        if "AES-NI (build" in label:
            target = ("n/a" if gibs is None else f"**{'PASS' if gibs >= 2 else 'MISS'}**") + \
                " (HTTPS upload ≥ 2 GiB/s)"
        errs = sum(r["errors"] for r in ok)
        cb = median([r["client_busy"] * 100 for r in ok])
        sb = median([r.get("server_busy", None) and r["server_busy"] * 100 for r in ok])
        print(f"| {label} | {fmt(gibs, '.2f')} | {fmt(gr, '.2f')} | {fmt(cpu, ',.0f')} | "
              f"{fmt(cr, '.2f')} | {fmt(cb, '.0f')}% | {fmt(sb, '.0f')}% | {errs} | {len(ok)} | {target} |")
    if not have_debian:
        print(f"\nThe Debian-libwolfssl row is missing: `{a.debian_blaster}` is not built "
              f"(`make debian-wolfssl`).")
    print()
    verdicts = sorted({f"{label}: {r['verdict']}" for (label, _), r in runs.items() if r.get("verdict")})
    print("blaster's verdicts: " + "; ".join(verdicts) + ".\n")
    print("Commands of the first repetition (ports change between invocations):\n")
    print("```")
    for label, _, _ in variants:
        r = runs[(label, 1)]
        print(r["cmd"])
    for label, _, tls in variants[:2]:
        r = runs[(label, 1)]
        if r.get("server"):
            print(r["server"] + "   # server")
    print("```\n")
    for (label, rep), r in runs.items():
        if r.get("failed"):
            print(f"- **{label} rep {rep}: FAILED** (`{r['cmd']}`)")
    return failed


def main():
    p = argparse.ArgumentParser()
    p.add_argument("blaster")
    p.add_argument("client_cpu", type=int)
    p.add_argument("server_cpu", type=int)
    p.add_argument("mix_duration")
    p.add_argument("upload_duration")
    p.add_argument("--sections", default="scenarios")
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--tls-vus", type=int, default=100)
    p.add_argument("--debian-blaster")
    p.add_argument("--cert")
    p.add_argument("--key")
    a = p.parse_args()
    secs = lambda d: int(d.rstrip("s"))
    failed = False
    if "scenarios" in a.sections.split():
        failed = scenarios(a.blaster, a.client_cpu, a.server_cpu, a.mix_duration, a.upload_duration, secs)
    if "tls-upload" in a.sections.split():
        if not (a.cert and a.key):
            p.error("tls-upload needs --cert and --key")
        failed = tls_upload(a, secs) or failed
    return 1 if failed else 0


def scenarios(blaster, ccpu, scpu, mix_dur, up_dur, secs):
    results = []
    mixed = os.path.join(ROOT, "examples", "mixed.yaml")
    upload = os.path.join(ROOT, "scripts", "bench-upload.yaml")
    print("== scenarios: mixed.yaml at full size", file=sys.stderr)
    measure(blaster, ccpu, scpu, mixed, {"DURATION": mix_dur}, secs(mix_dur), "mixed", results)
    for vus in (10, 100):
        print(f"== scenarios: upload alone, {vus} VUs", file=sys.stderr)
        measure(blaster, ccpu, scpu, upload, {"UPLOAD_VUS": vus, "DURATION": up_dur}, secs(up_dur),
                f"upload-{vus}", results)
    failed = False
    print("\n### Scenarios (issue 4 rows)\n")
    print(f"Client: `blaster run -t 1` on CPU {ccpu}; server: `blaster serve --app demo --threads 1` on CPU {scpu}.\n")
    for r in results:
        if r.get("failed"):
            failed = True
            print(f"- **{r['label']}: FAILED** (`{r['cmd']}`)\n")
            continue
        s = r["summary"]
        b = s["blaster"]
        reqs = s["metrics"]["http_reqs"]["values"]["count"]
        verdict = b["verdict"]["status"] + ("" if not b["verdict"]["reasons"] else ": " + "; ".join(b["verdict"]["reasons"]))
        workers = ", ".join(f"worker{i} {w['busy']*100:.0f}% busy" for i, w in enumerate(b["verdict"]["workers"]))
        print(f"**{r['label']}** — `{r['cmd']}` (exit {r['rc']})\n")
        print(f"- peak RSS {r['maxrss_kib']/1024:.1f} MiB; client CPU {r['cpu']:.1f} s over {r['wall']:.1f} s "
              f"({r['cpu']/max(reqs,1)*1e6:.1f} µs/request); {reqs:.0f} requests; {workers}")
        print(f"- client verdict: {verdict}\n")
        print("| scenario | VUs | requests | p95 ms | client_lag p99 ms | sent on time (lag ≤ 1 ms) | sent GiB/s | bounded by |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        for name, sc in b["scenarios"].items():
            lag = sc.get("client_lag", {})
            gibs = sc.get("data_sent", 0) / max(b.get("elapsed_s", r["wall"]), 1e-9) / 2**30
            print(f"| {name} | {sc.get('vus_max', 0)} | {sc['reqs']} | {ms(sc['duration']['p(95)'])} | "
                  f"{ms(lag.get('p(99)', 0))} | {sc.get('sent_on_time', 1)*100:.2f}% | {gibs:.2f} | "
                  f"{sc.get('bound_by', {}).get('side', '?')} |")
        print()
    return failed


if __name__ == "__main__":
    sys.exit(main())
