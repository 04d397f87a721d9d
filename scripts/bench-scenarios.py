#!/usr/bin/python3
"""The scenario rows of `make bench`: examples/mixed.yaml at full size (1650
VUs in four parallel scenarios) and the upload scenario alone with 10 and 100
VUs, each against `blaster serve --app demo` pinned to the server CPU, the
client pinned to the client CPU. Prints a markdown section; exits 1 if a run
failed. Usage: bench-scenarios.py BLASTER CLIENT_CPU SERVER_CPU MIX_DURATION UPLOAD_DURATION"""
import json
import os
import shlex
import signal
import socket
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


def measure(blaster, ccpu, scpu, yaml, env, dur, label, results):
    port = free_port()
    server, scmd = serve(blaster, scpu, port)
    try:
        with tempfile.TemporaryDirectory() as d:
            js = os.path.join(d, "s.json")
            cmd = ["taskset", "-c", str(ccpu), blaster, "run", "-t", "1", yaml, "--summary-export", js,
                   "-e", f"BASE_URL=http://127.0.0.1:{port}"]
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
        server.wait(10)
    ru = r["ru"]
    results.append({"label": label, "cmd": shlex.join(cmd), "server": scmd, "rc": r["rc"],
                    "wall": r["wall"], "cpu": ru.ru_utime + ru.ru_stime, "maxrss_kib": ru.ru_maxrss,
                    "summary": s})


def ms(v):
    return f"{v:.2f}" if v < 10 else f"{v:.0f}"


def main():
    blaster, ccpu, scpu, mix_dur, up_dur = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    secs = lambda d: int(d.rstrip("s"))
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
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
