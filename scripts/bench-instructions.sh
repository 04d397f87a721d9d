#!/usr/bin/env bash
# make bench-instructions: user-space instructions per request of the run loop,
# old binary vs this one, counted by callgrind. Unlike CPU time, the count does not
# move with the machine's load (the same binary and workload give the same number
# within a fraction of a percent), so it tells a code change's cost on the hot path
# apart from noise on a shared machine. It counts blaster's own code only: the
# kernel's TCP work (about 90% of a request's CPU) is not in it.
#
#   scripts/bench-instructions.sh OLD_BLASTER [NEW_BLASTER]
#
# Each binary runs `-t 1 -c 50 -d 2s` against `blaster serve -t 1` (NEW's) three
# times under valgrind --tool=callgrind --toggle-collect=engine_run: the
# instructions inside engine_run (the worker's loop and all it calls) divided by
# the requests that run completed. Prints a markdown table with the median of each
# and new/old.
set -euo pipefail
old=${1:?usage: bench-instructions.sh OLD_BLASTER [NEW_BLASTER]}
new=${2:-build/blaster}
reps=${BENCH_IREPS:-3}
command -v valgrind >/dev/null || { echo "bench-instructions: valgrind is not installed" >&2; exit 2; }
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$new" serve --listen 127.0.0.1:"$port" -t 1 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done

# instructions per request of one run of binary $1
per_request() {
    valgrind --tool=callgrind --toggle-collect=engine_run --callgrind-out-file="$tmp/cg" \
        "$1" -t 1 -c 50 -d 2s --summary-export "$tmp/s.json" "http://127.0.0.1:$port/" \
        >/dev/null 2>"$tmp/err"
    python3 - "$tmp/s.json" "$tmp/err" <<'EOF'
import json, re, sys
n = json.load(open(sys.argv[1]))["metrics"]["http_reqs"]["values"]["count"]
ir = int(re.search(r"Collected : (\d+)", open(sys.argv[2]).read()).group(1))
print(f"{ir / n:.1f}")
EOF
}

declare -a o n
for i in $(seq "$reps"); do
    o+=("$(per_request "$old")")
    n+=("$(per_request "$new")")
done
python3 - "$old" "$new" "${o[*]}" "${n[*]}" <<'EOF'
import statistics, sys
old, new = sys.argv[1], sys.argv[2]
o = [float(x) for x in sys.argv[3].split()]
n = [float(x) for x in sys.argv[4].split()]
mo, mn = statistics.median(o), statistics.median(n)
print("| binary | instructions per request (median) | runs |")
print("|---|---:|---|")
print(f"| old: `{old}` | {mo:.0f} | {', '.join(f'{x:.0f}' for x in o)} |")
print(f"| new: `{new}` | {mn:.0f} | {', '.join(f'{x:.0f}' for x in n)} |")
print(f"\nnew/old: {mn / mo:.3f}")
EOF
