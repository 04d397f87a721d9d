#!/usr/bin/env bash
# make bench: blaster side by side with wrk and h2load on this machine, loopback only.
#
#   scripts/bench.sh                                  # the full run, about 5 minutes
#   BENCH_DURATION=3s BENCH_REPS=1 scripts/bench.sh   # a quick check that it all works
#   BLASTER=/path/to/blaster scripts/bench.sh
#   BENCH_BASELINE=build/baseline/blaster scripts/bench.sh   # plus old vs new
#   BENCH_BASELINE=build/baseline/blaster BENCH_COMPARE_ONLY=1 scripts/bench.sh
#
# What it measures (BENCHMARKS.md explains every row):
#   1. throughput: one nginx worker pinned to the server CPU; wrk, blaster and
#      h2load --h1 in turn, each pinned to the client CPU with one thread, at 100 and
#      1000 connections: req/s and client CPU µs per request, as ratios to wrk in
#      the same repetition; median of BENCH_REPS.
#   2. fixed rate: blaster -R 20000 -c 100 against the same nginx: client CPU per
#      request and client_lag p99.
#   3. idle memory: blaster -c 10000 -R 1 against `blaster serve` (nginx when serve is
#      not built): VmRSS after 8 s minus the same with -c 10, per connection; wrk at
#      10000 connections under full load for contrast.
#   4. https: the throughput row over TLS (one nginx worker with TLS 1.2/1.3 and an
#      EC P-256 certificate made here with the openssl CLI) at BENCH_TLS_CONNS.
#   5. handshakes: the same TLS nginx closing after every response, so every request
#      is a new connection and handshake: blaster (resuming, and --no-resume) vs
#      h2load --h1 -n N (full handshakes, N sized for BENCH_DURATION) on
#      BENCH_HS_CONNS connections: handshakes/s and client CPU per handshake.
#   6. scenarios and tls-upload: scripts/bench-scenarios.py, against `blaster serve`
#      (tls-upload: 1 MiB uploads over HTTPS to `blaster serve --tls`, with this
#      blaster and with BLASTER_DEBIAN_WOLFSSL, linked against Debian's libwolfssl).
#   7. old vs new: with BENCH_BASELINE (an older blaster, `make bench-baseline`), the
#      blaster runs of sections 1 and 4 are each a pair, the old binary and this one
#      back to back (the order swapped every repetition, so neither is always
#      first), against the same server: req/s and client CPU µs per request of
#      both, and new/old CPU per request (median of the repetitions' ratios),
#      PASS when ≤ 1.02. BENCH_COMPARE_ONLY=1 runs only those pairs: no wrk, no
#      h2load, sections throughput and https (BENCH_SECTIONS may pick one). The
#      commit of the old binary is read from BENCH_BASELINE.commit when it exists.
# The table goes to stdout and to build/bench-results.md (BENCH_OUT). Exit status 0
# when every run worked (PASS or MISS alike; BENCH_STRICT=1 makes a MISS fail too),
# 1 when a run failed, 2 when a tool is missing.
#
# Environment (defaults in brackets):
#   BLASTER [build/blaster]  BENCH_DURATION [10s]  BENCH_REPS [3]  BENCH_CONNS ["100 1000"]
#   BENCH_RATE [20000]  BENCH_RATE_CONNS [100]  BENCH_IDLE_CONNS [10000]
#   BENCH_IDLE_DURATION [15s]  BENCH_IDLE_SAMPLE [8]  BENCH_CLIENT_CPU [0]
#   BENCH_SERVER_CPU [1]  BENCH_SECTIONS ["throughput rate idle https handshakes
#   scenarios tls-upload"]  BENCH_TLS_CONNS [100]  BENCH_HS_CONNS [10]
#   BENCH_MIX_DURATION [60s]  BENCH_UPLOAD_DURATION [20s]  BENCH_TLS_UPLOAD_VUS [100]
#   BLASTER_DEBIAN_WOLFSSL [build/debian-wolfssl/blaster: `make debian-wolfssl`; the
#   row is skipped when it is missing]  BENCH_OUT [build/bench-results.md]
#   BENCH_KEEP [0: 1 keeps the scratch directory and logs]  BENCH_STRICT [0]
#   BENCH_NOTE [a line quoted at the top of the results]  BENCH_BASELINE [none: the
#   old binary of the old-vs-new rows]  BENCH_COMPARE_ONLY [0]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
HELPER=$ROOT/scripts/bench-helper.py
NGINX_CONF_TEMPLATE=$ROOT/scripts/nginx-bench.conf
NGINX_TLS_CONF_TEMPLATE=$ROOT/scripts/nginx-bench-tls.conf

BLASTER=${BLASTER:-build/blaster}
# Relative to where we were started (make runs us from the repository root).
[[ $BLASTER == /* ]] || BLASTER=$PWD/$BLASTER
BENCH_BASELINE=${BENCH_BASELINE:-}
[[ -z $BENCH_BASELINE || $BENCH_BASELINE == /* ]] || BENCH_BASELINE=$PWD/$BENCH_BASELINE
BENCH_COMPARE_ONLY=${BENCH_COMPARE_ONLY:-0}
BENCH_DURATION=${BENCH_DURATION:-10s}
BENCH_REPS=${BENCH_REPS:-3}
BENCH_CONNS=${BENCH_CONNS:-100 1000}
BENCH_RATE=${BENCH_RATE:-20000}
BENCH_RATE_CONNS=${BENCH_RATE_CONNS:-100}
BENCH_IDLE_CONNS=${BENCH_IDLE_CONNS:-10000}
BENCH_IDLE_DURATION=${BENCH_IDLE_DURATION:-15s}
BENCH_IDLE_SAMPLE=${BENCH_IDLE_SAMPLE:-8}
BENCH_CLIENT_CPU=${BENCH_CLIENT_CPU:-0}
BENCH_SERVER_CPU=${BENCH_SERVER_CPU:-1}
if [[ $BENCH_COMPARE_ONLY == 1 ]]; then
    BENCH_SECTIONS=${BENCH_SECTIONS:-throughput https}
else
    BENCH_SECTIONS=${BENCH_SECTIONS:-throughput rate idle https handshakes scenarios tls-upload}
fi
BENCH_TLS_CONNS=${BENCH_TLS_CONNS:-100}
BENCH_HS_CONNS=${BENCH_HS_CONNS:-10}
BENCH_TLS_UPLOAD_VUS=${BENCH_TLS_UPLOAD_VUS:-100}
BLASTER_DEBIAN_WOLFSSL=${BLASTER_DEBIAN_WOLFSSL:-build/debian-wolfssl/blaster}
[[ $BLASTER_DEBIAN_WOLFSSL == /* ]] || BLASTER_DEBIAN_WOLFSSL=$PWD/$BLASTER_DEBIAN_WOLFSSL
BENCH_MIX_DURATION=${BENCH_MIX_DURATION:-60s}
BENCH_UPLOAD_DURATION=${BENCH_UPLOAD_DURATION:-20s}
BENCH_OUT=${BENCH_OUT:-$ROOT/build/bench-results.md}
BENCH_KEEP=${BENCH_KEEP:-0}
BENCH_STRICT=${BENCH_STRICT:-0}
BENCH_NOTE=${BENCH_NOTE:-}
# A client gets its run time plus this long (connecting 10000 sockets, teardown)
# before it is killed.
SLACK=60

die() { echo "bench.sh: $1" >&2; exit "${2:-1}"; }

# "10s", "2m", "1m30s" or a bare number of seconds -> whole seconds (h2load's -D
# takes seconds only, so the duration must be whole seconds for all three tools).
seconds() {
    local s=$1 total=0 n
    [[ $s =~ ^[0-9]+$ ]] && { echo "$s"; return; }
    [[ $s =~ ^([0-9]+h)?([0-9]+m)?([0-9]+s)?$ && -n $s ]] || die "not a duration in whole seconds: '$s'"
    for part in h:3600 m:60 s:1; do
        if [[ $s =~ ([0-9]+)${part%%:*} ]]; then
            n=${BASH_REMATCH[1]}
            total=$((total + n * ${part##*:}))
        fi
    done
    echo "$total"
}

# --- preflight: every tool, both CPUs ---------------------------------------------

missing=()
[[ -x $PY ]] || missing+=("$PY (Debian package python3)")
[[ -x $BLASTER && -f $BLASTER ]] || missing+=("blaster at $BLASTER (run make, or set BLASTER=)")
tools_needed=(nginx:nginx taskset:util-linux lscpu:util-linux)
[[ $BENCH_COMPARE_ONLY == 1 ]] || tools_needed+=(wrk:wrk h2load:nghttp2-client)
for t in "${tools_needed[@]}"; do
    command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t%%:*} (Debian package ${t##*:})")
done
sections=" $BENCH_SECTIONS "
for s in $BENCH_SECTIONS; do
    [[ " throughput rate idle https handshakes scenarios tls-upload " == *" $s "* ]] ||
        die "unknown section '$s' in BENCH_SECTIONS" 2
    [[ $BENCH_COMPARE_ONLY != 1 || " throughput https " == *" $s "* ]] ||
        die "BENCH_COMPARE_ONLY=1 runs the sections throughput and https only, not '$s'" 2
done
has_tls=0
[[ $sections == *" https "* || $sections == *" handshakes "* || $sections == *" tls-upload "* ]] && has_tls=1
if ((has_tls)); then
    command -v openssl >/dev/null 2>&1 || missing+=("openssl (Debian package openssl)")
fi
if [[ $sections == *" tls-upload "* ]] && ! "$BLASTER" serve --help 2>&1 | grep -q -- '--tls'; then
    missing+=("'$BLASTER serve --tls' (section tls-upload; this blaster's serve has no --tls)")
fi
if [[ -n $BENCH_BASELINE ]]; then
    [[ -x $BENCH_BASELINE && -f $BENCH_BASELINE ]] ||
        missing+=("the old blaster at $BENCH_BASELINE (run make bench-baseline REF=..., or fix BENCH_BASELINE=)")
elif [[ $BENCH_COMPARE_ONLY == 1 ]]; then
    die "BENCH_COMPARE_ONLY=1 needs BENCH_BASELINE=/path/to/old/blaster" 2
fi
if ((${#missing[@]})); then
    printf 'bench.sh: missing: %s\n' "${missing[@]}" >&2
    exit 2
fi
NGINX=$(command -v nginx)
for cpu in "$BENCH_CLIENT_CPU" "$BENCH_SERVER_CPU"; do
    taskset -c "$cpu" true 2>/dev/null ||
        die "cannot run on CPU $cpu (this machine has CPUs $(taskset -pc $$ | sed 's/.*: //')); set BENCH_CLIENT_CPU/BENCH_SERVER_CPU" 2
done
[[ $BENCH_CLIENT_CPU != "$BENCH_SERVER_CPU" ]] || die "client and server must be on different CPUs" 2
"$BLASTER" --version >/dev/null 2>&1 || die "$BLASTER --version fails: not a working blaster binary" 2
[[ -z $BENCH_BASELINE ]] || "$BENCH_BASELINE" --version >/dev/null 2>&1 ||
    die "$BENCH_BASELINE --version fails: not a working blaster binary" 2
[[ $BENCH_REPS =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS must be a positive integer" 2

DUR=$(seconds "$BENCH_DURATION")
IDLE_DUR=$(seconds "$BENCH_IDLE_DURATION")
((DUR > 0)) || die "BENCH_DURATION must be at least 1s" 2
((IDLE_DUR > BENCH_IDLE_SAMPLE)) || die "BENCH_IDLE_DURATION must be longer than BENCH_IDLE_SAMPLE" 2

# --- servers: started in the background, all killed on any exit --------------------

WORK=$(mktemp -d /tmp/blaster-bench.XXXXXX)
SERVER_PIDS=()
CLIENT_PID=""
cleanup() {
    local rc=$? pid
    # The helper stops its client when it gets SIGTERM.
    if [[ -n $CLIENT_PID ]]; then
        kill -TERM "$CLIENT_PID" 2>/dev/null || true
        wait "$CLIENT_PID" 2>/dev/null || true
    fi
    for pid in "${SERVER_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${SERVER_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ $BENCH_KEEP == 1 || $rc -ne 0 ]]; then
        echo "bench.sh: logs kept in $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SERVER_CMDS=()
NGINX_PID=""
NGINX_PORT=""
start_nginx() {
    NGINX_PORT=$("$PY" "$HELPER" freeport)
    mkdir -p "$WORK/nginx-tmp"
    sed -e "s|@DIR@|$WORK|g" -e "s|@PORT@|$NGINX_PORT|g" "$NGINX_CONF_TEMPLATE" >"$WORK/nginx.conf"
    local cmd=(taskset -c "$BENCH_SERVER_CPU" "$NGINX" -p "$WORK" -e "$WORK/nginx-error.log"
               -c "$WORK/nginx.conf")
    "${cmd[@]}" >"$WORK/nginx.out" 2>&1 &
    NGINX_PID=$!
    SERVER_PIDS+=("$NGINX_PID")
    SERVER_CMDS+=("${cmd[*]}")
    "$PY" "$HELPER" waitport "$NGINX_PORT" "$NGINX_PID" 10 ||
        { cat "$WORK/nginx.out" "$WORK/nginx-error.log" >&2 2>/dev/null; die "nginx did not start"; }
}

# A self-signed EC P-256 certificate for localhost and 127.0.0.1, made fresh in
# the scratch directory: the TLS nginx and `blaster serve --tls` use it, blaster
# verifies it with --cacert in the https row.
TLS_CERT=""
TLS_KEY=""
make_cert() {
    TLS_CERT=$WORK/tls-cert.pem
    TLS_KEY=$WORK/tls-key.pem
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$TLS_KEY" -out "$TLS_CERT" >"$WORK/openssl.out" 2>&1 ||
        { cat "$WORK/openssl.out" >&2; die "openssl could not make the test certificate"; }
}

# The second nginx (scripts/nginx-bench-tls.conf): TLS on TLS_PORT (keep-alive)
# and TLS_CLOSE_PORT (keepalive_requests 1: a handshake per request).
TLS_PORT=""
TLS_CLOSE_PORT=""
start_tls_nginx() {
    TLS_PORT=$("$PY" "$HELPER" freeport)
    TLS_CLOSE_PORT=$("$PY" "$HELPER" freeport)
    [[ $TLS_CLOSE_PORT != "$TLS_PORT" ]] || TLS_CLOSE_PORT=$("$PY" "$HELPER" freeport)
    mkdir -p "$WORK/nginx-tmp"
    sed -e "s|@DIR@|$WORK|g" -e "s|@PORT_CLOSE@|$TLS_CLOSE_PORT|g" -e "s|@PORT@|$TLS_PORT|g" \
        "$NGINX_TLS_CONF_TEMPLATE" >"$WORK/nginx-tls.conf"
    local cmd=(taskset -c "$BENCH_SERVER_CPU" "$NGINX" -p "$WORK" -e "$WORK/nginx-tls-error.log"
               -c "$WORK/nginx-tls.conf")
    "${cmd[@]}" >"$WORK/nginx-tls.out" 2>&1 &
    local pid=$!
    SERVER_PIDS+=("$pid")
    SERVER_CMDS+=("${cmd[*]}")
    "$PY" "$HELPER" waitport "$TLS_PORT" "$pid" 10 && "$PY" "$HELPER" waitport "$TLS_CLOSE_PORT" "$pid" 10 ||
        { cat "$WORK/nginx-tls.out" "$WORK/nginx-tls-error.log" >&2 2>/dev/null; die "TLS nginx did not start"; }
}

# The target of the idle-memory row: blaster's own server when it is built (it
# accepts into io_uring direct descriptors, so 10000 connections are cheap for
# it), else the nginx above.
IDLE_PORT=""
IDLE_SERVER=""
start_idle_server() {
    if "$BLASTER" serve --help >/dev/null 2>&1; then
        IDLE_PORT=$("$PY" "$HELPER" freeport)
        local cmd=(taskset -c "$BENCH_SERVER_CPU" "$BLASTER" serve --listen "127.0.0.1:$IDLE_PORT"
                   --threads 1 --exit-after "$((4 * (IDLE_DUR + SLACK)))s")
        "${cmd[@]}" >"$WORK/serve.out" 2>&1 &
        local pid=$!
        SERVER_PIDS+=("$pid")
        SERVER_CMDS+=("${cmd[*]}")
        "$PY" "$HELPER" waitport "$IDLE_PORT" "$pid" 10 ||
            { cat "$WORK/serve.out" >&2; die "blaster serve did not start"; }
        IDLE_SERVER="\`blaster serve\` (1 thread, CPU $BENCH_SERVER_CPU)"
    else
        echo "bench.sh: '$BLASTER serve' is not available: the idle row runs against nginx" >&2
        [[ -n $NGINX_PID ]] || start_nginx
        IDLE_PORT=$NGINX_PORT
        IDLE_SERVER="nginx (1 worker, CPU $BENCH_SERVER_CPU; \`blaster serve\` was not available)"
    fi
}

# A server that died would turn every later run into connection errors: stop there.
server_alive() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        kill -0 "$pid" 2>/dev/null ||
            die "a server exited during the benchmark (pid $pid; logs in $WORK)"
    done
}

# --- clients ------------------------------------------------------------------------

RUNS=$WORK/runs.jsonl
: >"$RUNS"
FAILED=0
# client SECTION TOOL CONNS REP [helper options --] COMMAND...: one measured run,
# pinned to the client CPU; the helper records it in $RUNS.
client() {
    local section=$1 tool=$2 conns=$3 rep=$4 timeout=$5
    shift 5
    local opts=()
    while [[ $1 != -- ]]; do opts+=("$1"); shift; done
    shift
    # The log is named after --name when given (two blaster variants in one row).
    local tag=$tool j
    for ((j = 0; j + 1 < ${#opts[@]}; j++)); do
        [[ ${opts[j]} != --name ]] || tag=${opts[j + 1]}
    done
    tag=${tag//[^A-Za-z0-9]/-}
    server_alive
    local rc=0
    # In the background and waited for, so that a signal to this script runs its
    # trap at once instead of after the client's run.
    "$PY" "$HELPER" run --runs "$RUNS" --section "$section" --tool "$tool" --conns "$conns" \
        --rep "$rep" --timeout "$timeout" --log "$WORK/$section-$tag-c$conns-r$rep.log" \
        "${opts[@]}" -- taskset -c "$BENCH_CLIENT_CPU" "$@" &
    CLIENT_PID=$!
    wait "$CLIENT_PID" || rc=$?
    CLIENT_PID=""
    ((rc < 128)) || exit "$rc" # the helper was interrupted
    ((rc == 0)) || FAILED=1
    sleep 1 # let the server and the TCP stack settle between runs
}

# The closed model: NAME BINARY SECTION URL CONNS REP [blaster's extra options...]
# NAME is blaster (this binary) or baseline (the old one of the old-vs-new rows).
blaster_bin_closed() {
    local name=$1 bin=$2 section=$3 url=$4 conns=$5 rep=$6
    shift 6
    local sum=$WORK/$section-$name-c$conns-r$rep.json
    client "$section" blaster "$conns" "$rep" $((DUR + SLACK)) --summary "$sum" --name "$name" -- \
        "$bin" -t 1 -c "$conns" -d "${DUR}s" "$@" "$url" --summary-export "$sum"
}
# SECTION URL CONNS REP [options...]: this blaster, and with a baseline the old
# one right next to it, old first in odd repetitions and new first in even ones,
# so that drift and any cost of going first or second hit both alike.
blaster_closed() {
    if [[ -z $BENCH_BASELINE ]]; then
        blaster_bin_closed blaster "$BLASTER" "$@"
    elif (($4 % 2)); then
        blaster_bin_closed baseline "$BENCH_BASELINE" "$@"
        blaster_bin_closed blaster "$BLASTER" "$@"
    else
        blaster_bin_closed blaster "$BLASTER" "$@"
        blaster_bin_closed baseline "$BENCH_BASELINE" "$@"
    fi
}
wrk_closed() {
    client "$1" wrk "$3" "$4" $((DUR + SLACK)) -- \
        wrk -t1 -c"$3" -d"${DUR}s" "$2"
}
h2load_closed() {
    client "$1" h2load "$3" "$4" $((DUR + SLACK)) -- \
        h2load --h1 -t1 -c"$3" -D"$DUR" "$2"
}

echo "bench.sh: scratch directory $WORK; ${DUR}s per run, $BENCH_REPS repetition(s)" >&2
# The tools of the closed-model rows, run in turn (rotated every repetition).
if [[ $BENCH_COMPARE_ONLY == 1 ]]; then
    CLOSED_TOOLS=(blaster)
else
    CLOSED_TOOLS=(wrk blaster h2load)
fi
NT=${#CLOSED_TOOLS[@]}

if [[ $sections == *" throughput "* || $sections == *" rate "* ]]; then
    start_nginx
fi

if [[ $sections == *" throughput "* ]]; then
    echo "== throughput: closed model against nginx on 127.0.0.1:$NGINX_PORT" >&2
    for conns in $BENCH_CONNS; do
        for rep in $(seq "$BENCH_REPS"); do
            # Rotate the order so that no client always runs first (or last) in a
            # repetition; the ratios compare runs of the same repetition.
            for ((i = 0; i < NT; i++)); do
                t=${CLOSED_TOOLS[$(((i + rep - 1) % NT))]}
                "${t}_closed" throughput "http://127.0.0.1:$NGINX_PORT/" "$conns" "$rep"
            done
        done
    done
fi

if [[ $sections == *" rate "* ]]; then
    echo "== fixed rate: blaster -R $BENCH_RATE -c $BENCH_RATE_CONNS" >&2
    for rep in $(seq "$BENCH_REPS"); do
        sum=$WORK/rate-blaster-r$rep.json
        client rate blaster "$BENCH_RATE_CONNS" "$rep" $((DUR + SLACK)) --summary "$sum" -- \
            "$BLASTER" -t 1 -c "$BENCH_RATE_CONNS" -R "$BENCH_RATE" -d "${DUR}s" \
            "http://127.0.0.1:$NGINX_PORT/" --summary-export "$sum"
    done
fi

if [[ $sections == *" idle "* ]]; then
    start_idle_server
    echo "== idle memory: $BENCH_IDLE_CONNS connections against 127.0.0.1:$IDLE_PORT" >&2
    for conns in 10 "$BENCH_IDLE_CONNS"; do
        sum=$WORK/idle-blaster-c$conns.json
        client idle blaster "$conns" 1 $((IDLE_DUR + SLACK)) --summary "$sum" \
            --rss-at "$BENCH_IDLE_SAMPLE" --port "$IDLE_PORT" -- \
            "$BLASTER" -t 1 -c "$conns" -R 1 -d "${IDLE_DUR}s" "http://127.0.0.1:$IDLE_PORT/" \
            --summary-export "$sum"
    done
    for conns in 10 "$BENCH_IDLE_CONNS"; do
        client idle wrk "$conns" 1 $((IDLE_DUR + SLACK)) \
            --rss-at "$BENCH_IDLE_SAMPLE" --port "$IDLE_PORT" -- \
            wrk -t1 -c"$conns" -d"${IDLE_DUR}s" "http://127.0.0.1:$IDLE_PORT/"
    done
fi

if ((has_tls)); then
    make_cert
fi
if [[ $sections == *" https "* || $sections == *" handshakes "* ]]; then
    start_tls_nginx
fi

if [[ $sections == *" https "* ]]; then
    echo "== https: closed model against TLS nginx on 127.0.0.1:$TLS_PORT" >&2
    for rep in $(seq "$BENCH_REPS"); do
        for ((i = 0; i < NT; i++)); do
            t=${CLOSED_TOOLS[$(((i + rep - 1) % NT))]}
            if [[ $t == blaster ]]; then
                blaster_closed https "https://127.0.0.1:$TLS_PORT/" "$BENCH_TLS_CONNS" "$rep" \
                    --cacert "$TLS_CERT"
            else
                "${t}_closed" https "https://127.0.0.1:$TLS_PORT/" "$BENCH_TLS_CONNS" "$rep"
            fi
        done
    done
fi

if [[ $sections == *" handshakes "* ]]; then
    HS_URL=https://127.0.0.1:$TLS_CLOSE_PORT/
    # h2load -D prints nothing when the server closes every connection, so it
    # gets a request count: what it does in 1 s (from a short warm-up run)
    # times BENCH_DURATION.
    hs_rate=$(taskset -c "$BENCH_CLIENT_CPU" h2load --h1 -t1 -n $((BENCH_HS_CONNS * 200)) \
                  -c "$BENCH_HS_CONNS" "$HS_URL" 2>&1 |
              sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p')
    [[ -n $hs_rate ]] || die "h2load could not make handshakes to $HS_URL"
    HS_N=$("$PY" -c "import sys; print(max(1000, int(float(sys.argv[1]) * int(sys.argv[2]))))" \
           "$hs_rate" "$DUR")
    echo "== handshakes: a new connection per request, TLS nginx on 127.0.0.1:$TLS_CLOSE_PORT" \
         "(h2load -n $HS_N from its warm-up rate of $hs_rate/s)" >&2
    for rep in $(seq "$BENCH_REPS"); do
        for i in 0 1 2; do
            case $(((i + rep - 1) % 3)) in
            0) client handshakes h2load "$BENCH_HS_CONNS" "$rep" $((3 * DUR + SLACK)) -- \
                   h2load --h1 -t1 -n "$HS_N" -c "$BENCH_HS_CONNS" "$HS_URL" ;;
            1) sum=$WORK/handshakes-blaster-r$rep.json
               client handshakes blaster "$BENCH_HS_CONNS" "$rep" $((DUR + SLACK)) --summary "$sum" -- \
                   "$BLASTER" -t 1 -c "$BENCH_HS_CONNS" -d "${DUR}s" -k "$HS_URL" --summary-export "$sum" ;;
            2) sum=$WORK/handshakes-blaster-noresume-r$rep.json
               client handshakes blaster "$BENCH_HS_CONNS" "$rep" $((DUR + SLACK)) --summary "$sum" \
                   --name "blaster --no-resume" -- \
                   "$BLASTER" -t 1 -c "$BENCH_HS_CONNS" -d "${DUR}s" -k --no-resume "$HS_URL" \
                   --summary-export "$sum" ;;
            esac
        done
    done
fi

# --- the table ------------------------------------------------------------------------

# The commit of this tree, "-dirty" when tracked files have changed (what the
# new binary of the old-vs-new rows was presumably built from).
tree_commit() {
    local c
    c=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null) || return 0
    git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || c+=-dirty
    echo "$c"
}

# meta.json: what the report says about the machine and the run.
M_NOTE=$BENCH_NOTE \
M_DATE=$(date -u '+%Y-%m-%d %H:%M UTC') \
M_CPU_MODEL=$(lscpu | sed -n 's/^Model name: *//p' | head -1) \
M_CPUS=$(nproc --all) \
M_KERNEL=$(uname -r) \
M_BLASTER=$BLASTER \
M_BLASTER_VERSION=$("$BLASTER" --version 2>&1 | head -1) \
M_BLASTER_COMMIT=$(tree_commit) \
M_BASELINE=$BENCH_BASELINE \
M_BASELINE_VERSION=$([[ -z $BENCH_BASELINE ]] || "$BENCH_BASELINE" --version 2>&1 | head -1) \
M_BASELINE_COMMIT=$(cat "$BENCH_BASELINE.commit" 2>/dev/null || true) \
M_COMPARE_ONLY=$BENCH_COMPARE_ONLY \
M_WRK_VERSION=$(wrk --version 2>&1 | head -1 | awk '{print $1, $2}') \
M_H2LOAD_VERSION=$(h2load --version 2>&1 | head -1) \
M_NGINX_VERSION=$("$NGINX" -v 2>&1 | sed 's/^nginx version: //') \
M_NGINX_CMD="taskset -c $BENCH_SERVER_CPU nginx -c scripts/nginx-bench.conf (@DIR@, @PORT@ filled in)" \
M_TLS_CONNS=$BENCH_TLS_CONNS M_HS_CONNS=$BENCH_HS_CONNS \
M_OPENSSL_VERSION=$(openssl version 2>/dev/null | awk '{print $1, $2}') \
M_SERVER_CPU=$BENCH_SERVER_CPU M_CLIENT_CPU=$BENCH_CLIENT_CPU M_DURATION_S=$DUR \
M_REPS=$BENCH_REPS M_RATE=$BENCH_RATE M_RATE_CONNS=$BENCH_RATE_CONNS \
M_IDLE_CONNS=$BENCH_IDLE_CONNS M_IDLE_DURATION_S=$IDLE_DUR M_IDLE_SAMPLE_S=$BENCH_IDLE_SAMPLE \
M_IDLE_SERVER=$IDLE_SERVER \
M_SERVER_CMDS=$(printf '%s\n' "${SERVER_CMDS[@]}") \
    "$PY" - "$WORK/meta.json" <<'EOF'
import json, os, sys
meta = {k[2:].lower(): v for k, v in os.environ.items() if k.startswith("M_")}
for k in ("cpus", "server_cpu", "client_cpu", "duration_s", "reps", "rate", "rate_conns",
          "idle_conns", "idle_duration_s", "idle_sample_s", "tls_conns", "hs_conns"):
    meta[k] = int(meta[k])
meta["title_note"] = meta.pop("note")
meta["server_cmds"] = [l for l in meta["server_cmds"].splitlines() if l]
with open(sys.argv[1], "w") as f:
    json.dump(meta, f, indent=1)
EOF

mkdir -p "$(dirname "$BENCH_OUT")"
"$PY" "$HELPER" report --runs "$RUNS" --meta "$WORK/meta.json" >"$BENCH_OUT"
scen=()
[[ $sections == *" scenarios "* ]] && scen+=(scenarios)
[[ $sections == *" tls-upload "* ]] && scen+=(tls-upload)
if ((${#scen[@]})); then
    # Scenario files (examples/mixed.yaml at full size, uploads alone, uploads
    # over HTTPS): their own script, appended to the same table file.
    "$PY" "$(dirname "$0")/bench-scenarios.py" "$BLASTER" "$BENCH_CLIENT_CPU" "$BENCH_SERVER_CPU" \
        "$BENCH_MIX_DURATION" "$BENCH_UPLOAD_DURATION" --sections "${scen[*]}" --reps "$BENCH_REPS" \
        --tls-vus "$BENCH_TLS_UPLOAD_VUS" --debian-blaster "$BLASTER_DEBIAN_WOLFSSL" \
        --cert "$TLS_CERT" --key "$TLS_KEY" >>"$BENCH_OUT" || FAILED=1
fi
cat "$BENCH_OUT"
echo "bench.sh: written to $BENCH_OUT" >&2

# Keep the tools' own output when anything went wrong, to see what it was.
if grep -q '"errors": [1-9]' "$RUNS"; then
    BENCH_KEEP=1
fi
if ((FAILED)); then
    die "some runs failed (see 'Failed runs' above)"
fi
if [[ $BENCH_STRICT == 1 ]] && grep -q '\*\*MISS\*\*' "$BENCH_OUT"; then
    die "a target was missed (BENCH_STRICT=1)"
fi
