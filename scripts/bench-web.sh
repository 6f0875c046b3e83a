#!/usr/bin/env bash
# Benchmark: camhost's dashboard API against the old stack (Flask under Gunicorn, gevent workers),
# side by side in one run, over HTTPS with the same certificate and the same SQLite data.
#
#   scripts/bench-web.sh [DURATION_SECONDS] [LOAD_SECONDS]      (ROUNDS=3 in the environment)
#
# Endpoints: /api/v1/recordings (100 rows from SQLite, with a valid bearer token) and /healthz.
# wrk, 50 connections, 2 threads. Where the load generator runs (PLACEMENT):
#   pinned (default with 2 or more cores): wrk on CPU 0, both servers on the other CPUs, so each
#          server's req/s is its own capacity; on a 2-core machine each server gets one core.
#   shared: wrk and the servers on all cores. wrk then spends ~37 us of CPU on each camhost
#          answer (decrypting 32 KB) beside camhost's ~45 us, and camhost's req/s measures the
#          client as much as the server (Flask's ~1,800 us per request hardly notices).
# Each server's CPU per request is reported too: it does not depend on placement. One run's
# req/s moves by +-15 %, so each endpoint is measured ROUNDS times, camhost and Flask
# alternating, and the ratio is taken of the medians. Then a load run of 200 connections on camhost's API for
# LOAD_SECONDS (default 60): only 2xx or 429 allowed; RSS before, at its peak during the load,
# as wrk exits and 2 s later (growth = what stays once the connections are closed).
# Needs: wrk, python3-venv (pip installs flask gunicorn gevent into a throwaway virtualenv),
# a release build of camhost (built if missing). CAMHOST_RATE_LIMIT_API_RPS=0 for the run.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-15}
LOAD=${2:-60}
ROUNDS=${ROUNDS:-3}
CORES=$(nproc)
WORKERS=$((2 * CORES + 1))
PLACEMENT=${PLACEMENT:-pinned}
[ "$CORES" -ge 2 ] || PLACEMENT=shared
if [ "$PLACEMENT" = pinned ]; then
  CLIENT=(taskset -c 0); SERVER=(taskset -c "1-$((CORES - 1))")
else
  CLIENT=(); SERVER=()
fi
WORK=$(mktemp -d /tmp/bench-web.XXXXXX)
CAMHOST_PORT=18600
FLASK_PORT=18601
BROKER_PORT=18602
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'echo "bench-web: failed at line $LINENO" >&2; tail -n 5 "$WORK"/gunicorn.out "$WORK"/camhost.out >&2' ERR

# The binary scripts/run.sh ships (static Swift runtime, -Osize), unless CAMHOST_BIN names one.
if [ -z "${CAMHOST_BIN:-}" ]; then
    BIN="$(scripts/build-release.sh)"
else
    BIN=$CAMHOST_BIN
fi
unset CAMHOST_BIN  # camhost warns about CAMHOST_* variables it does not know
command -v wrk >/dev/null || { echo "bench-web: wrk is missing (apt-get install wrk)"; exit 1; }

echo "== setting up: $WORK (cores: $CORES, gunicorn workers: $WORKERS, placement: $PLACEMENT${SERVER:+, servers on CPU ${SERVER[2]}, wrk on CPU ${CLIENT[2]}})"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q flask gunicorn gevent packaging

# camhost: data directory, database (migrated by serve), 100+ recordings, a read token.
DATA="$WORK/camhost"
CAMHOST_RATE_LIMIT_API_RPS=0 CAMHOST_MQTT_MANAGED_BROKER_PORT=$BROKER_PORT CAMHOST_LOG_LEVEL=warning \
  "${SERVER[@]}" "$BIN" serve --listen 127.0.0.1:$CAMHOST_PORT --data-dir "$DATA" >"$WORK/camhost.out" 2>&1 &
CAMHOST_PID=$!
PIDS+=("$CAMHOST_PID")
for _ in $(seq 100); do curl -sk -o /dev/null "https://127.0.0.1:$CAMHOST_PORT/healthz" && break; sleep 0.1; done
python3 - "$DATA/camhost.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
db.execute("INSERT OR IGNORE INTO cameras (id, name, profile, address) VALUES ('cam-1','cam-1','unknown',''),('cam-2','cam-2','unknown','')")
for i in range(500):
    db.execute("INSERT INTO recordings (camera_id, path, start_at, end_at, duration_ms, bytes, codec) VALUES (?,?,?,?,?,?,?)",
               (f"cam-{i % 2 + 1}", f"cam-{i % 2 + 1}/2026/01/{i:05d}.webm".encode(), f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
                f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}.500Z", 60000, 1_000_000 + i, "vp8"))
db.commit()
PY
TOKEN=$("$BIN" token create --data-dir "$DATA" --scope read --name bench)

# The old stack: the same two endpoints from the same database, the same certificate.
cp scripts/old-stack-app.py "$WORK/app.py"
(cd "$WORK" && BENCH_DB="$DATA/camhost.db" BENCH_TOKEN="$TOKEN" exec "${SERVER[@]}" "$WORK/venv/bin/gunicorn" -k gevent -w $WORKERS \
   --pid "$WORK/gunicorn.pid" --certfile "$DATA/tls/cert.pem" --keyfile "$DATA/tls/key.pem" -b 127.0.0.1:$FLASK_PORT --log-level warning app:app >"$WORK/gunicorn.out" 2>&1) &
PIDS+=("$!")
for _ in $(seq 300); do curl -sk -o /dev/null "https://127.0.0.1:$FLASK_PORT/healthz" && break; sleep 0.1; done
GUNICORN_MASTER=$(cat "$WORK/gunicorn.pid")

rss_camhost() { awk '/VmRSS/ {print $2}' "/proc/$CAMHOST_PID/status"; }
rss_gunicorn() { local total=0; for pid in $GUNICORN_MASTER $(pgrep -P "$GUNICORN_MASTER"); do total=$((total + $(awk '/VmRSS/ {print $2}' /proc/$pid/status))); done; echo $total; }

# Same answers from both (row count).
for port in $CAMHOST_PORT $FLASK_PORT; do
  curl -sk -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$port/api/v1/recordings" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["recordings"]) == 100, d; print("   port", sys.argv[1], "rows", len(d["recordings"]), "total", d["total"])' $port
done

# CPU time (clock ticks, user + system) of a server: camhost, or Gunicorn's master and workers.
cpu_ticks() {
  local pids=$CAMHOST_PID total=0
  [ "$1" = flask ] && pids="$GUNICORN_MASTER $(pgrep -P "$GUNICORN_MASTER")"
  for pid in $pids; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done
  echo $total
}
TICKS=$(getconf CLK_TCK)
run() { # name port path -> prints a row; appends "req/s p99 cpu_us_per_request" to $WORK/NAME-PATH.runs
  local out before after
  before=$(cpu_ticks "$1")
  out=$("${CLIENT[@]}" wrk -t2 -c50 -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$2$3" 2>&1)
  after=$(cpu_ticks "$1")
  local rps p99 non2xx errors requests cpu
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  # The server's CPU per answered request: what it costs whatever the client costs (wrk shares
  # the cores, and decrypting camhost's answers is a good part of wrk's own work).
  cpu=$(awk -v t=$((after - before)) -v hz="$TICKS" -v n="$requests" 'BEGIN {printf "%.0f", n ? t / hz / n * 1e6 : 0}')
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out"); non2xx=${non2xx:-0}
  errors=$(awk '/Socket errors/ {print $0}' <<<"$out")
  printf "%-9s %-22s %12s %10s %8s %10s %s\n" "$1" "$3" "$rps" "$p99" "$non2xx" "$cpu" "$errors"
  echo "$rps $p99 $cpu" >> "$WORK/$1-${3//\//_}.runs"
}
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# p99 in ms whatever unit wrk printed (us, ms, s).
p99ms() { awk '{v = $2; if (v ~ /us$/) {sub(/us$/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v *= 1000}; print v}'; }

echo
echo "== wrk -t2 -c50 -d${DURATION}s over HTTPS, $ROUNDS rounds, camhost and flask alternating (both servers up; placement $PLACEMENT)"
printf "%-9s %-22s %12s %10s %8s %10s\n" server endpoint "req/s" "p99" "non-2xx" "cpu us/req"
for path in /api/v1/recordings /healthz; do
  for _ in $(seq "$ROUNDS"); do
    run camhost $CAMHOST_PORT $path
    run flask $FLASK_PORT $path
  done
done
echo
echo "== medians of $ROUNDS rounds"
for path in /api/v1/recordings /healthz; do
  key=${path//\//_}
  c=$(awk '{print $1}' "$WORK/camhost-$key.runs" | median); f=$(awk '{print $1}' "$WORK/flask-$key.runs" | median)
  cp=$(p99ms < "$WORK/camhost-$key.runs" | median); fp=$(p99ms < "$WORK/flask-$key.runs" | median)
  cc=$(awk '{print $3}' "$WORK/camhost-$key.runs" | median); fc=$(awk '{print $3}' "$WORK/flask-$key.runs" | median)
  printf "%-22s camhost %10.0f req/s (p99 %.2f ms)   flask %8.0f req/s (p99 %.1f ms)   ratio %.1fx\n" "$path" "$c" "$cp" "$f" "$fp" "$(awk -v a="$c" -v b="$f" 'BEGIN {print a / b}')"
  printf "%-22s server CPU per request: camhost %.0f us, flask %.0f us (%.0fx less)\n" "" "$cc" "$fc" "$(awk -v a="$cc" -v b="$fc" 'BEGIN {print a ? b / a : 0}')"
done
echo
echo "RSS after the runs: camhost $(( $(rss_camhost) / 1024 )) MB; gunicorn (master + $WORKERS workers) $(( $(rss_gunicorn) / 1024 )) MB"

echo
echo "== load: camhost API, 200 connections, ${LOAD}s"
BEFORE=$(rss_camhost)
# RSS sampled every 0.5 s during the load (its peak: 200 connections' buffers and TLS state),
# at the moment wrk exits (connections still closing), and 2 s later (settled: what stays).
(peak=0; while kill -0 "$CAMHOST_PID" 2>/dev/null && [ ! -e "$WORK/load.done" ]; do
    r=$(rss_camhost); [ "$r" -gt "$peak" ] && peak=$r; echo "$peak" > "$WORK/load.peak"; sleep 0.5; done) &
SAMPLER=$!
LOADOUT=$("${CLIENT[@]}" wrk -t2 -c200 -d"${LOAD}s" --latency -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$CAMHOST_PORT/api/v1/recordings" 2>&1)
AT_EXIT=$(rss_camhost)
touch "$WORK/load.done"; wait "$SAMPLER" 2>/dev/null || true
sleep 2
SETTLED=$(rss_camhost)
PEAK=$(cat "$WORK/load.peak")
grep -E "Requests/sec|99%|Non-2xx|Socket errors|requests in" <<<"$LOADOUT" | sed 's/^/   /'
echo "   RSS before ${BEFORE} kB; peak during the load ${PEAK} kB (+$(( (PEAK - BEFORE) * 100 / BEFORE )) %);" \
     "as wrk exits ${AT_EXIT} kB (+$(( (AT_EXIT - BEFORE) * 100 / BEFORE )) %); 2 s later ${SETTLED} kB:" \
     "growth $(( (SETTLED - BEFORE) * 100 / BEFORE )) %"
kill -0 "$CAMHOST_PID" && echo "   camhost still running"
