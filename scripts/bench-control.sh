#!/usr/bin/env bash
# Camera control benchmark (issue 5), release build, one real Mosquitto on loopback.
#
#   scripts/bench-control.sh                         # COMMANDS=10000 CAMERAS=100 STATUS_CAMERAS=1000
#   CAMHOST_BIN=path/to/camhost scripts/bench-control.sh    # another build
#
# Measures:
#   1. `camhost camera bench`: COMMANDS set-mode commands to CAMERAS simulated cameras (one
#      `camhost simulate cameras` process), each a QoS 1 publish with a correlation id answered by
#      the camera's JSON ack: round trip p50/p99 and commands/s, at 1 and at several commands in
#      flight (goal: p99 <= 5 ms, >= 5,000 commands/s);
#   2. beside it, the request/reply loop a person would write with mosquitto_pub/mosquitto_sub on
#      the same broker (a responder `mosquitto_sub | while read; do mosquitto_pub; done`, a
#      requester loop publishing and reading one reply per request);
#   3. `camhost serve` (the process holding the camera registry) before and after STATUS_CAMERAS
#      simulated cameras (all in one simulator process) publish their retained status and
#      availability: RSS growth (goal: <= 5 MB); the simulator's own RSS and descriptors.
# Everything lives under one temporary directory and is stopped at exit.
set -euo pipefail

COMMANDS=${COMMANDS:-10000}
CAMERAS=${CAMERAS:-100}
STATUS_CAMERAS=${STATUS_CAMERAS:-1000}
BASELINE=${BASELINE:-300}
HERE=$(cd "$(dirname "$0")/.." && pwd)
# The binary scripts/run.sh ships (static Swift runtime, -Osize), unless CAMHOST_BIN names one.
if [ -z "${CAMHOST_BIN:-}" ]; then
    BIN="$("$HERE/scripts/build-release.sh")"
else
    BIN=$CAMHOST_BIN
fi
unset CAMHOST_BIN  # camhost warns about CAMHOST_* variables it does not know

WORK=$(mktemp -d /tmp/bench-control.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
wait_for() {  # wait_for SECONDS COMMAND...: poll every 0.1 s
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        [ $SECONDS -ge $deadline ] && { echo "timed out waiting for: $*" >&2; return 1; }
        sleep 0.1
    done
}

PORT=$(free_port)
URL=mqtt://127.0.0.1:$PORT
# set_tcp_nodelay: without it Nagle's algorithm and delayed ACKs add ~40 ms to every reply.
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\n' "$PORT" > "$WORK/mosquitto.conf"
/usr/sbin/mosquitto -c "$WORK/mosquitto.conf" > "$WORK/mosquitto.log" 2>&1 &
PIDS+=($!)
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null
export CAMHOST_CONTROL_PROFILES_DIR="$HERE/firmware-profiles"
echo "camhost $("$BIN" version | head -1 | cut -d' ' -f2), $(/usr/sbin/mosquitto -h 2>/dev/null | head -1), $(nproc) cores; broker $URL" >&2

# 1. camhost command round trips.
"$BIN" simulate cameras --count "$CAMERAS" --profile acme-json --broker "$URL" --data-dir "$WORK/sim" > "$WORK/sim.out" 2>&1 &
SIM=$!
PIDS+=("$SIM")
wait_for 60 grep -q simulating "$WORK/sim.out"
"$BIN" camera bench --count 500 --cameras "$CAMERAS" --concurrency 4 --broker "$URL" --data-dir "$WORK/bench" > /dev/null  # warm-up
echo
echo "== camhost camera bench: $COMMANDS set-mode commands to $CAMERAS simulated cameras (QoS 1, JSON ack with correlation id)"
printf '%-12s %10s %10s %10s %10s %12s %6s\n' "in flight" "p50 ms" "p90 ms" "p99 ms" "max ms" "commands/s" "ok"
for c in 1 4 8 16; do
    "$BIN" camera bench --count "$COMMANDS" --cameras "$CAMERAS" --concurrency "$c" --json --broker "$URL" --data-dir "$WORK/bench" > "$WORK/bench-$c.json"
    python3 - "$WORK/bench-$c.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(f'{d["concurrency"]:<12} {d["p50_ms"]:10.3f} {d["p90_ms"]:10.3f} {d["p99_ms"]:10.3f} {d["max_ms"]:10.3f} {d["commands_per_second"]:12.0f} {d["ok"]:6}')
EOF
done
kill -INT "$SIM"; wait "$SIM" 2>/dev/null || true

# 2. The same request/reply with mosquitto_pub/mosquitto_sub, as a shell loop.
echo
echo "== mosquitto_pub/mosquitto_sub request/reply loop, $BASELINE requests (one process per publish)"
mkfifo "$WORK/requests"
mosquitto_sub -h 127.0.0.1 -p "$PORT" -q 1 -t bench/cmd > "$WORK/requests" &
PIDS+=($!)
while read -r message; do
    mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 -t bench/ack -m "$message"
done < "$WORK/requests" &
PIDS+=($!)
exec 3< <(mosquitto_sub -h 127.0.0.1 -p "$PORT" -q 1 -t bench/ack)
PIDS+=($!)
# Both subscribers must be in place before timing: probe until a reply comes back.
until mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 -t bench/cmd -m probe && read -r -t 1 -u 3 _; do :; done
while read -r -t 0.5 -u 3 _; do :; done  # replies to earlier probes
lost=0
started=$(date +%s%N)
for i in $(seq 1 "$BASELINE"); do
    t0=$(date +%s%N)
    mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 -t bench/cmd -m "req-$i"
    if ! read -r -t 5 -u 3 _; then lost=$((lost + 1)); continue; fi
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000 ))
done > "$WORK/baseline.txt"
ended=$(date +%s%N)
[ "$lost" -gt 0 ] && echo "($lost requests got no reply within 5 s)"
python3 - "$WORK/baseline.txt" "$started" "$ended" <<'EOF'
import sys
us = sorted(int(x) for x in open(sys.argv[1]))
p = lambda q: us[min(len(us) - 1, int(q * len(us) + 0.999) - 1)] / 1000
seconds = (int(sys.argv[3]) - int(sys.argv[2])) / 1e9
print(f'{"p50 ms":>10} {"p90 ms":>10} {"p99 ms":>10} {"max ms":>10} {"requests/s":>12}')
print(f'{p(.5):10.3f} {p(.9):10.3f} {p(.99):10.3f} {us[-1]/1000:10.3f} {len(us)/seconds:12.0f}')
EOF
exec 3<&-

# 3. Registry memory: camhost serve before and after STATUS_CAMERAS cameras report.
echo
echo "== camhost serve holding the registry: RSS before and after $STATUS_CAMERAS simulated cameras' status"
# A fresh broker: the benchmark's cameras left retained status on the first one.
PORT=$(free_port)
URL=mqtt://127.0.0.1:$PORT
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\n' "$PORT" > "$WORK/mosquitto2.conf"
/usr/sbin/mosquitto -c "$WORK/mosquitto2.conf" > "$WORK/mosquitto2.log" 2>&1 &
PIDS+=($!)
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null
HTTPS=$(free_port)
CAMHOST_MQTT_BROKER="$URL" CAMHOST_DIAGNOSTICS_WATCH_INTERFACE="" \
    "$BIN" serve --listen "127.0.0.1:$HTTPS" --data-dir "$WORK/serve" > "$WORK/serve.out" 2>&1 &
SERVE=$!
PIDS+=("$SERVE")
health() { curl -sk "https://127.0.0.1:$HTTPS/healthz"; }
wait_for 30 bash -c "curl -sk https://127.0.0.1:$HTTPS/healthz | grep -q '\"mqtt\":{\"detail\":\"connected'"
sleep 2
before=$(rss_kb $SERVE)
"$BIN" simulate cameras --count "$STATUS_CAMERAS" --profile acme-json --id-prefix cam- --broker "$URL" --data-dir "$WORK/sim2" > "$WORK/sim2.out" 2>&1 &
SIM2=$!
PIDS+=("$SIM2")
started=$SECONDS
wait_for 180 grep -q simulating "$WORK/sim2.out"
wait_for 60 bash -c "curl -sk https://127.0.0.1:$HTTPS/healthz | grep -q '$STATUS_CAMERAS cameras, $STATUS_CAMERAS online'"
echo "all $STATUS_CAMERAS cameras connected and seen by serve in $((SECONDS - started)) s"
sleep 3
after=$(rss_kb $SERVE)
echo "serve RSS: before $((before / 1024)).$(( (before % 1024) * 10 / 1024 )) MB, after $((after / 1024)).$(( (after % 1024) * 10 / 1024 )) MB, growth $(( (after - before) )) kB"
echo "simulator: $STATUS_CAMERAS cameras in one process (pid $SIM2), RSS $(( $(rss_kb $SIM2) / 1024 )) MB, $(ls /proc/$SIM2/fd | wc -l) descriptors"
health | python3 -c 'import json,sys; print("healthz mqtt:", json.load(sys.stdin)["checks"]["mqtt"]["detail"])'
