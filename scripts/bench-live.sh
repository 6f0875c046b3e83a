#!/bin/bash
# Live view benchmark (issue 13): one 2 Mbit/s H.264 stream (1280×720, 25 pictures/s, a keyframe
# each second) from a camera in a network namespace into `camhost serve` ([[media.streams]], not
# recorded), watched by 1, 10 and 50 WebSocket viewers (scripts/live-client.py: one asyncio process
# that reads and discards). For each count:
#   - latency from the moment the sender's last RTP packet of a picture left (CLOCK_MONOTONIC in the
#     namespace's sender) to the moment the viewer had its fragment (same clock): p50/p99 over all
#     viewers' pictures. Sender, camhost and viewers share this 2-core host, so this is an upper
#     bound of camhost's own share (it includes the veth hop, TLS and the Python client);
#   - camhost's CPU (utime+stime from /proc) and RSS (VmRSS) with the viewers connected, minus the
#     same stream with no viewer, per viewer;
# and then headless Chromium's page load to first decoded frame on /cameras/bench-cam/live
# (scripts/browser-live-test.py, requestVideoFrameCallback), with a kept GOP, over LOADS loads.
#
# Usage: scripts/bench-live.sh [SECONDS=15] [LOADS=5]     (root: it makes a namespace and a veth)
# Env:   CAMHOST_BIN (default: the release build of scripts/build-release.sh)
# Prints a table and writes bench-live.json in the work directory it names.
set -euo pipefail
SECONDS_PER_RUN=${1:-15}
LOADS=${2:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${CAMHOST_BIN:-$("$HERE/build-release.sh")}
unset CAMHOST_BIN   # camhost reads CAMHOST_* as configuration
WORK=$(mktemp -d /tmp/bench-live-XXXXXX)
NS=benchlive$$
HOST_IF=blh$$
CAM_IF=blc$$
PORT=5200
HTTPS=18950
SERVE_PID=
SENDER_PID=

cleanup() {
    [ -n "$SENDER_PID" ] && kill "$SENDER_PID" 2>/dev/null || true
    [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    ip link del "$HOST_IF" 2>/dev/null || true
}
trap cleanup EXIT

echo "work directory: $WORK"
# The stream: 10 s of 1280×720 testsrc2 at 2 Mbit/s (CBR-like), parameter sets before each keyframe.
VIDEO=/tmp/bench-live-720p-2M.h264
if [ ! -s "$VIDEO" ]; then
    ffmpeg -y -v error -f lavfi -i testsrc2=size=1280x720:rate=25 -t 10 -c:v libx264 -profile:v main -bf 0 -g 25 -keyint_min 25 \
        -b:v 2M -maxrate 2M -bufsize 1M -pix_fmt yuv420p -bsf:v dump_extra=freq=keyframe -f h264 "$VIDEO"
fi

ip netns add "$NS"
ip link add "$HOST_IF" type veth peer name "$CAM_IF"
ip link set "$CAM_IF" netns "$NS"
ip addr add 10.77.0.1/29 dev "$HOST_IF"; ip link set "$HOST_IF" up
ip netns exec "$NS" ip addr add 10.77.0.2/29 dev "$CAM_IF"
ip netns exec "$NS" ip link set "$CAM_IF" up; ip netns exec "$NS" ip link set lo up

cat > "$WORK/camhost.toml" <<EOF
[media]
port_range = "$PORT-$((PORT + 1))"
stream_cameras = false
[rate_limit]
burst = 500
[[media.streams]]
camera = "bench-cam"
source = "10.77.0.2"
port = $PORT
record = false
EOF
printf 'bench-password-1234\n' | "$BIN" user add bench --role viewer --data-dir "$WORK/var" >/dev/null
TOKEN=$("$BIN" token create --scope read --name bench --data-dir "$WORK/var" 2>/dev/null)
CAMHOST_MQTT_MANAGED_BROKER_PORT=$((HTTPS + 1)) "$BIN" serve --config "$WORK/camhost.toml" --listen 127.0.0.1:$HTTPS \
    --data-dir "$WORK/var" > "$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 100); do curl -sk -o /dev/null https://127.0.0.1:$HTTPS/healthz && break; sleep 0.1; done
sleep 1   # the stream manager opens the stream on its first ticks

TOTAL=$((SECONDS_PER_RUN * 3 + 40 + LOADS * 10))
ip netns exec "$NS" /usr/bin/python3 "$HERE/bench-live-sender.py" "$VIDEO" 10.77.0.1 $PORT $TOTAL "$WORK/sent.log" &
SENDER_PID=$!
sleep 3

cpu_ticks() { awk '{print $14 + $15}' /proc/$SERVE_PID/stat; }
# The fan-out's own time per watched picture (camhost_live_fanout_seconds): "SUM COUNT".
fanout() { curl -sk https://127.0.0.1:$HTTPS/metrics | awk '/^camhost_live_fanout_seconds_sum/ {s=$2} /^camhost_live_fanout_seconds_count/ {c=$2} END {print (s ? s : 0), (c ? c : 0)}'; }
rss_kb() { awk '/VmRSS/ {print $2}' /proc/$SERVE_PID/status; }
TICKS=$(getconf CLK_TCK)

# The stream alone, no viewer.
c0=$(cpu_ticks); sleep "$SECONDS_PER_RUN"; c1=$(cpu_ticks)
BASE_CPU=$(( c1 - c0 )); BASE_RSS=$(rss_kb)
echo "no viewer: camhost CPU $(awk -v t=$BASE_CPU -v s=$SECONDS_PER_RUN -v k=$TICKS 'BEGIN{printf "%.1f", 100*t/k/s}') % of a core, RSS $BASE_RSS KB"
echo "{\"seconds\": $SECONDS_PER_RUN, \"base_cpu_ticks\": $BASE_CPU, \"base_rss_kb\": $BASE_RSS, \"ticks_per_second\": $TICKS, \"runs\": [" > "$WORK/bench-live.json"

for N in 1 10 50; do
    /usr/bin/python3 "$HERE/live-client.py" watch "wss://127.0.0.1:$HTTPS/api/v1/cameras/bench-cam/live" --token "$TOKEN" \
        --viewers $N --seconds $((SECONDS_PER_RUN + 4)) --frames --out "$WORK/viewers-$N.json" &
    CLIENT=$!
    sleep 3   # connected, past the kept-GOP burst
    f0=$(fanout); c0=$(cpu_ticks); sleep "$SECONDS_PER_RUN"; c1=$(cpu_ticks); RSS=$(rss_kb); f1=$(fanout)
    wait $CLIENT
    [ $N = 1 ] || echo "," >> "$WORK/bench-live.json"
    echo "{\"viewers\": $N, \"cpu_ticks\": $((c1 - c0)), \"rss_kb\": $RSS, \"fanout\": [\"$f0\", \"$f1\"], \"file\": \"$WORK/viewers-$N.json\"}" >> "$WORK/bench-live.json"
done
echo "]}" >> "$WORK/bench-live.json"

# Page load to first decoded frame, with the kept GOP (the stream is running).
python3 "$HERE/browser-live-test.py" "https://127.0.0.1:$HTTPS" bench bench-password-1234 "$WORK/browser" bench-cam \
    --seconds 3 --loads "$LOADS" > /dev/null || echo "browser-live-test failed (see $WORK/browser)"

/usr/bin/python3 - "$WORK" <<'EOF'
import json, sys, statistics
work = sys.argv[1]
bench = json.load(open(f"{work}/bench-live.json"))
sent = {}
for line in open(f"{work}/sent.log"):
    index, at = line.split()
    sent[int(index)] = float(at)
k = bench["ticks_per_second"]; s = bench["seconds"]
print(f"{'viewers':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'pictures':>8} {'CPU %core':>9} {'CPU/viewer':>10} {'RSS KB':>7} {'RSS/viewer KB':>13}")
for run in bench["runs"]:
    viewers = json.load(open(run["file"]))["viewers"]
    latencies = []
    for v in viewers:
        for decode, arrival in v["frames"]:
            index = round(decode / 3600)
            # Pictures sent before the viewer connected are its kept GOP: late by design.
            if index in sent and v["opened"] is not None and sent[index] >= v["opened"]:
                latencies.append((arrival - sent[index]) * 1000)
    latencies.sort()
    n = run["viewers"]
    cpu = 100 * run["cpu_ticks"] / k / s
    base = 100 * bench["base_cpu_ticks"] / k / s
    p = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))] if latencies else float("nan")
    print(f"{n:>7} {p(0.5):>7.1f} {p(0.99):>7.1f} {p(1.0):>7.1f} {len(latencies):>8} {cpu:>9.1f} {(cpu - base) / n:>10.2f} "
          f"{run['rss_kb']:>7} {(run['rss_kb'] - bench['base_rss_kb']) / n:>13.0f}")
    (s0, n0), (s1, n1) = [tuple(float(x) for x in f.split()) for f in run["fanout"]]
    if n1 > n0:
        print(f"        fan-out per picture (camhost_live_fanout_seconds): mean {(s1 - s0) / (n1 - n0) * 1e6:.0f} µs over {n1 - n0:.0f} pictures")
    closes = {str(v["close"]) for v in viewers}
    print(f"        closes: {closes}; fragments per viewer: min {min(v['fragments'] for v in viewers)}")
try:
    browser = json.load(open(f"{work}/browser/live.json"))
    firsts = [l["first_frame_ms"] for l in browser["loads"] if l.get("first_frame_ms") is not None]
    print(f"page load to first decoded frame (ms, {len(firsts)} loads): " + ", ".join(f"{f:.0f}" for f in firsts)
          + (f"; median {statistics.median(firsts):.0f}" if firsts else ""))
    if browser["console_errors"]:
        print("console errors:", browser["console_errors"])
except (OSError, KeyError, ValueError) as error:
    print("no browser figures:", error)
EOF
