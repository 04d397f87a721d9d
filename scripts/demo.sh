#!/usr/bin/env bash
# make demo: start the built-in target on a loopback port, run a short
# quick-mode test against it, print the summary, stop the server.
set -euo pipefail
BLASTER=${1:-build/blaster}
PORT=${DEMO_PORT:-18080}
LOG=$(mktemp)
"$BLASTER" serve --listen "127.0.0.1:$PORT" --exit-after 60s --delay 1ms 2>"$LOG" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 100); do
    grep -q listening "$LOG" && break
    kill -0 $SERVER 2>/dev/null || { cat "$LOG"; exit 1; }
    sleep 0.05
done
cat "$LOG"
echo
echo "== closed model: 50 connections, as fast as the server answers (5s)"
echo "   $BLASTER -c 50 -d 5s http://127.0.0.1:$PORT/"
"$BLASTER" -c 50 -d 5s "http://127.0.0.1:$PORT/"
echo "== open model: 5000 req/s on 50 connections (5s), latency from each request's intended start"
echo "   $BLASTER -c 50 -d 5s -R 5000 --latency http://127.0.0.1:$PORT/"
"$BLASTER" -c 50 -d 5s -R 5000 --latency "http://127.0.0.1:$PORT/"
