#!/usr/bin/env bash
# Benchmark camhost's WebSocket server (Web, over TLS on libmicrohttpd's upgrade) against the
# Python `websockets` 10.4 server (Debian's python3-websockets) doing the same job: broadcast
# MESSAGES binary messages of BYTES bytes (default 400 x 10,000 B: 16 s of a 2 Mbit/s stream at
# 25 pictures/s) to 1, 10 and 50 viewers over TLS 1.3, every message delivered (a full queue is
# waited out, not dropped). The viewers are the same Python clients for both servers.
#
#   scripts/bench-websocket.sh [MESSAGES] [BYTES]
#
# camhost's side is `websocket-bench` (Tests/WebSocketBench, release build). Reported: the
# server process's CPU time (user + system, TLS included) for the broadcast and the wall time
# until every viewer had everything, as ratios camhost / Python (below 1: camhost needs less).
# The clients share the two cores, so wall time is bounded by them; CPU is the server's own.
set -euo pipefail
cd "$(dirname "$0")/.."

MESSAGES=${1:-400}
BYTES=${2:-10000}
PYTHON=/usr/bin/python3   # Debian's, with python3-websockets (shared FACTS)
WORK=${BENCH_DIR:-/tmp/camhost-bench-websocket}
"$PYTHON" -c 'import websockets' 2>/dev/null || { echo "bench-websocket: python3-websockets is missing (scripts/install-deps.sh --test)" >&2; exit 69; }
command -v openssl >/dev/null || { echo "bench-websocket: openssl is missing" >&2; exit 69; }
mkdir -p "$WORK"

echo "== release build of websocket-bench"
swift build -c release --product websocket-bench 2>&1 | tail -1
BIN="$(swift build -c release --show-bin-path)/websocket-bench"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
    -days 1 -subj /CN=localhost 2>/dev/null

# run SERVER-COMMAND... : starts the server, reads its port, runs the viewers, prints the server's JSON.
run() {
    local viewers=$1; shift
    local out
    out="$WORK/server-$viewers-$(basename "$1").out"
    rm -f "$out"   # a stale port line from an earlier run would send the viewers elsewhere
    "$@" > "$out" 2> "$out.err" &
    local pid=$!
    local port=""
    for _ in $(seq 100); do
        port=$(sed -n 's/^port //p' "$out" | head -1)
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { echo "bench-websocket: the server printed no port" >&2; cat "$out.err" >&2; kill "$pid"; exit 70; }
    "$PYTHON" scripts/bench-websocket.py viewers "wss://127.0.0.1:$port/live" "$viewers" > "$WORK/viewers.out" \
        || { echo "bench-websocket: the viewers failed" >&2; kill "$pid"; exit 70; }
    wait "$pid" || { echo "bench-websocket: $1 failed:" >&2; cat "$out.err" >&2; exit 70; }
    grep '^{' "$out"
}

printf "%-8s %-18s %10s %10s\n" viewers server cpu_ms wall_ms
for viewers in 1 10 50; do
    ours=$(run "$viewers" "$BIN" "$WORK/key.pem" "$WORK/cert.pem" "$viewers" "$MESSAGES" "$BYTES")
    theirs=$(run "$viewers" "$PYTHON" scripts/bench-websocket.py server "$WORK/key.pem" "$WORK/cert.pem" "$viewers" "$MESSAGES" "$BYTES")
    for line in "$ours" "$theirs"; do
        echo "$line" | "$PYTHON" -c 'import json,sys; r=json.load(sys.stdin); print("%-8s %-18s %10d %10d" % (r["viewers"], r["server"], r["cpu_ms"], r["wall_ms"]))'
    done
    "$PYTHON" - "$ours" "$theirs" <<'PY'
import json, sys
ours, theirs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print("         ratio camhost/python: cpu %.2fx, wall %.2fx" % (ours["cpu_ms"] / max(theirs["cpu_ms"], 1), ours["wall_ms"] / max(theirs["wall_ms"], 1)))
PY
done
