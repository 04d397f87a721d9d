#!/usr/bin/env bash
# make demo: start the built-in target (with the examples' routes) on a
# loopback port, run short quick-mode tests and a scenario file against it,
# print the summaries, stop the server.
set -euo pipefail
BLASTER=${1:-build/blaster}
PORT=${DEMO_PORT:-$(/usr/bin/python3 -c "import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])")}
LOG=$(mktemp)
# Server and client on different CPUs when there are two, so that neither
# takes the other's CPU (the client verdict would rightly say so).
NCPU=$(nproc)
SERVER_CPU=$((NCPU - 1))
if [ "$NCPU" -ge 2 ]; then PIN_SERVER="taskset -c $SERVER_CPU"; PIN_CLIENT="taskset -c 0-$((SERVER_CPU - 1))"; else PIN_SERVER=""; PIN_CLIENT=""; fi
# Until the server PID says "listening" in LOG (5 s at most), then show its line.
wait_listening() {
    for _ in $(seq 100); do
        grep -q listening "$2" && break
        kill -0 "$1" 2>/dev/null || { cat "$2"; exit 1; }
        sleep 0.05
    done
    cat "$2"
}
$PIN_SERVER "$BLASTER" serve --listen "127.0.0.1:$PORT" --threads 1 --exit-after 90s --app demo --delay 1ms 2>"$LOG" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -f "$LOG"' EXIT
wait_listening $SERVER "$LOG"
echo
echo "== closed model: 50 connections, as fast as the server answers (5s)"
echo "   $PIN_CLIENT $BLASTER -c 50 -d 5s http://127.0.0.1:$PORT/api/v1/tracks"
$PIN_CLIENT "$BLASTER" -c 50 -d 5s "http://127.0.0.1:$PORT/api/v1/tracks"
echo "== open model: 5000 req/s on 50 connections (5s), latency from each request's intended start"
echo "   $PIN_CLIENT $BLASTER -c 50 -d 5s -R 5000 --latency http://127.0.0.1:$PORT/api/v1/tracks"
$PIN_CLIENT "$BLASTER" -c 50 -d 5s -R 5000 --latency "http://127.0.0.1:$PORT/api/v1/tracks"
echo "== a scenario file: examples/smoke.yaml (every route once per iteration, strict thresholds)"
echo "   $PIN_CLIENT $BLASTER run examples/smoke.yaml -e BASE_URL=http://127.0.0.1:$PORT"
$PIN_CLIENT "$BLASTER" run "$(dirname "$0")/../examples/smoke.yaml" -e "BASE_URL=http://127.0.0.1:$PORT"

# HTTPS, offline: a CA and a certificate for localhost made here with the
# openssl CLI, `blaster serve --tls` with it, blaster trusting that CA.
TLS_DIR=$(mktemp -d)
TLS_PORT=$(/usr/bin/python3 -c "import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])")
TLS_LOG=$(mktemp)
trap 'kill $SERVER ${TLS_SERVER:-} 2>/dev/null || true; wait $SERVER ${TLS_SERVER:-} 2>/dev/null || true; rm -rf "$LOG" "$TLS_LOG" "$TLS_DIR"' EXIT
(
    cd "$TLS_DIR"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
        -days 2 -subj "/CN=blaster demo CA" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr \
        -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext \
        -out server.pem 2>/dev/null
)
$PIN_SERVER "$BLASTER" serve --listen "127.0.0.1:$TLS_PORT" --threads 1 --exit-after 60s --app demo \
    --tls --cert "$TLS_DIR/server.pem" --key "$TLS_DIR/server.key" 2>"$TLS_LOG" &
TLS_SERVER=$!
wait_listening $TLS_SERVER "$TLS_LOG"
echo
echo "== HTTPS: 50 connections (5s), TLS 1.3 with wolfSSL, the server's certificate verified"
echo "   $PIN_CLIENT $BLASTER -c 50 -d 5s --cacert ca.pem https://localhost:$TLS_PORT/api/v1/tracks"
$PIN_CLIENT "$BLASTER" -c 50 -d 5s --cacert "$TLS_DIR/ca.pem" "https://localhost:$TLS_PORT/api/v1/tracks"
