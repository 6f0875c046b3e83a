#!/usr/bin/env bash
# Benchmark the receive path of `camhost stream receive` against GStreamer and ffmpeg doing the
# same job per stream: STREAMS concurrent H.264 streams of ~2 Mbit/s, replayed by one sender
# process from a recorded RTP stream, over a veth into the host (never loopback: camhost refuses
# to send feedback there), for SECONDS.
#
#   scripts/bench-streams.sh [STREAMS] [SECONDS]      # default 50 streams, 20 s
#   RECORD=0 scripts/bench-streams.sh ...             # receive and parse only, no MP4 written
#   TOOLS="serve ffmpeg" scripts/bench-streams.sh ... # only these rows (camhost serve gstreamer ffmpeg)
#
# Per tool: CPU (user+system of all its processes, % of one core per stream), proportional RSS
# per stream (Pss, shared libraries divided among the processes), and packets lost (camhost:
# its own count; all tools: the kernel's UDP receive-buffer drops in that time).
#   camhost    one `camhost stream receive --record DIR --segment-seconds 10` per stream (reorder,
#              depacketize, RR+REMB each second, fragmented MP4 segments, fsynced and renamed)
#   gstreamer  udpsrc ! rtpjitterbuffer ! rtph264depay ! h264parse ! splitmuxsink muxer=mp4mux
#              max-size-time=10 s, one per stream
#   ffmpeg     -protocol_whitelist file,udp,rtp -i stream.sdp -c copy -f segment -segment_time 10
#              -segment_format mp4 (fragmented: frag_keyframe+empty_moov), one per stream
#   serve      every stream in one `camhost serve` ([[media.streams]]), recording: CPU and memory
#              per stream inside the appliance (RECORD=1 only)
# With RECORD=0 all three stop at the parser (camhost without --record, the peers into fakesink
# and -f null): the comparison is then of receiving, reordering and depacketizing only.
#
# Needs root (ip netns, veth), gst-launch-1.0 with x264enc (plugins-ugly) and h264parse
# (plugins-bad), ffmpeg, /usr/bin/python3. Scratch files in $BENCH_DIR (default /tmp/camhost-bench-streams).
set -euo pipefail
cd "$(dirname "$0")/.."

STREAMS=${1:-50}
SECONDS_RUN=${2:-20}
RECORD=${RECORD:-1}
WORK=${BENCH_DIR:-/tmp/camhost-bench-streams}
BASE_PORT=52000
NS=benchstr-$$
HOST_IF=bsh$$ CAM_IF=bsc$$
HOST_ADDR=10.79.0.1 CAM_ADDR=10.79.0.2
for tool in gst-launch-1.0 ffmpeg /usr/bin/python3 ip; do
    command -v "$tool" >/dev/null || { echo "bench-streams: $tool is missing (see scripts/install-deps.sh --bench)" >&2; exit 69; }
done
[[ $(id -u) -eq 0 ]] || { echo "bench-streams: needs root (ip netns, veth)" >&2; exit 77; }
mkdir -p "$WORK"

BIN=${CAMHOST_BIN:-}
if [[ -z "$BIN" ]]; then
    echo "== release build" >&2
    BIN=$(scripts/build-release.sh)
fi

cleanup() {
    jobs -p | xargs -r kill 2>/dev/null || true
    ip link del "$HOST_IF" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT

# 1. The stream to replay: 30 s of 2 Mbit/s H.264 at 25 fps (noise: the encoder spends its whole bitrate) as RTP, framed by RFC 4571 lengths.
STREAM="$WORK/h264-2mbit.rtp"
if [[ ! -s "$STREAM" ]]; then
    echo "== encoding the replayed stream (30 s, 2 Mbit/s)" >&2
    gst-launch-1.0 -q videotestsrc num-buffers=750 pattern=snow ! video/x-raw,width=1280,height=720,framerate=25/1 ! \
        x264enc tune=zerolatency speed-preset=ultrafast key-int-max=50 bitrate=2000 ! \
        rtph264pay config-interval=-1 pt=96 mtu=1400 ! rtpstreampay ! filesink location="$STREAM.tmp"
    mv "$STREAM.tmp" "$STREAM"
fi

# 2. The lab: the sender in a namespace, the receivers on the host end of a veth.
ip netns add "$NS"
ip link add "$HOST_IF" type veth peer name "$CAM_IF"
ip link set "$CAM_IF" netns "$NS"
ip addr add "$HOST_ADDR/30" dev "$HOST_IF"
ip link set "$HOST_IF" up
ip netns exec "$NS" ip addr add "$CAM_ADDR/30" dev "$CAM_IF"
ip netns exec "$NS" ip link set "$CAM_IF" up
ip netns exec "$NS" ip link set lo up
sleep 0.3

# One process sends every stream: the recorded packets on their RTP timestamps, each stream with
# its own SSRC and a start offset, to BASE_PORT + 2*i; packets are paced in 2 ms slices.
SENDER=$(cat <<'PY'
import socket, struct, sys, time
path, host, base, streams, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
data = open(path, "rb").read()
packets, offset = [], 0
while offset + 2 <= len(data):
    n = struct.unpack_from("!H", data, offset)[0]; packets.append(bytearray(data[offset + 2:offset + 2 + n])); offset += 2 + n
ts0 = struct.unpack_from("!I", packets[0], 4)[0]
times = [((struct.unpack_from("!I", p, 4)[0] - ts0) & 0xFFFFFFFF) / 90000 for p in packets]
length = times[-1] + 0.04
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
events = []
for s in range(streams):
    shift = s * 0.04 / max(1, streams) * 25
    for i, t in enumerate(times): events.append((t + shift, s, i))
events.sort()
start = time.monotonic(); sent = 0; loop = 0
while True:
    base_time = loop * length
    for t, s, i in events:
        when = base_time + t
        if when > seconds: break
        delay = start + when - time.monotonic()
        if delay > 0.002: time.sleep(delay)
        p = packets[i]
        seq = (struct.unpack_from("!H", p, 2)[0] + loop * len(packets)) & 0xFFFF
        ts = (struct.unpack_from("!I", p, 4)[0] + int(loop * length * 90000)) & 0xFFFFFFFF
        header = struct.pack("!HHII", struct.unpack_from("!H", p, 0)[0], seq, ts, 0x10000 + s)
        sock.sendto(header[:2] + header[2:] + bytes(p[12:]), (host, base + 2 * s)); sent += 1
    else:
        loop += 1; continue
    break
print(sent)
PY
)

udp_drops() { awk '/^Udp:/ { if (++n == 2) print $6 }' /proc/net/snmp; }
# user+system ticks of the given pids, and the sum of their Pss in kB.
cpu_ticks() { local total=0; for p in "$@"; do [[ -r /proc/$p/stat ]] && total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $total; }
pss_kb() { local total=0; for p in "$@"; do [[ -r /proc/$p/smaps_rollup ]] && total=$((total + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup"))); done; echo $total; }
# Every descendant too (ip netns exec, timeout and shells in between).
tree() {
    local p kids
    for p in "$@"; do
        echo "$p"
        mapfile -t kids < <(pgrep -P "$p" || true)
        if [[ ${#kids[@]} -gt 0 ]]; then tree "${kids[@]}"; fi
    done
}

TICKS=$(getconf CLK_TCK)
run() {
    local name=$1; shift
    local pids=() i port
    rm -rf "${WORK:?}/$name"; mkdir -p "$WORK/$name"
    for ((i = 0; i < STREAMS; i++)); do
        port=$((BASE_PORT + 2 * i))
        "$@" "$i" "$port" > "$WORK/$name/$i.out" 2> "$WORK/$name/$i.err" &
        pids+=($!)
    done
    sleep 2
    local drops0 ticks0 all
    mapfile -t all < <(tree "${pids[@]}")
    drops0=$(udp_drops)
    ticks0=$(cpu_ticks "${all[@]}")
    ip netns exec "$NS" /usr/bin/python3 -c "$SENDER" "$STREAM" "$HOST_ADDR" "$BASE_PORT" "$STREAMS" "$SECONDS_RUN" > "$WORK/$name/sent" &
    local sender=$!
    sleep $((SECONDS_RUN / 2))
    local pss
    mapfile -t all < <(tree "${pids[@]}")
    pss=$(pss_kb "${all[@]}")
    wait $sender
    sleep 1
    local ticks1 drops1
    mapfile -t all < <(tree "${pids[@]}")
    ticks1=$(cpu_ticks "${all[@]}")
    drops1=$(udp_drops)
    for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    local cpu_per_stream
    cpu_per_stream=$(awk -v t=$((ticks1 - ticks0)) -v hz="$TICKS" -v s="$SECONDS_RUN" -v n="$STREAMS" 'BEGIN { printf "%.2f", 100 * t / hz / (s + 1) / n }')
    printf '%-10s cpu/stream %6s %%   pss/stream %6d kB   kernel udp drops %6d   sent %s\n' \
        "$name" "$cpu_per_stream" $((pss / STREAMS)) $((drops1 - drops0)) "$(cat "$WORK/$name/sent")"
    echo "$name $cpu_per_stream $((pss / STREAMS)) $((drops1 - drops0))" >> "$WORK/results"
}

camhost_one() {
    if [[ $RECORD == 1 ]]; then
        mkdir -p "$WORK/camhost/rec$1"
        exec "$BIN" stream receive --from "$CAM_ADDR" --port "$2" --camera "bench-$1" --record "$WORK/camhost/rec$1" --segment-seconds 10 --json
    fi
    exec "$BIN" stream receive --from "$CAM_ADDR" --port "$2" --camera "bench-$1" --json
}
gst_one() {
    local sink=(fakesink)
    if [[ $RECORD == 1 ]]; then
        mkdir -p "$WORK/gstreamer/rec$1"
        sink=(splitmuxsink muxer=mp4mux max-size-time=10000000000 location="$WORK/gstreamer/rec$1/seg%05d.mp4")
    fi
    exec gst-launch-1.0 -q -e udpsrc port="$2" buffer-size=1048576 \
        caps="application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96" ! \
        rtpjitterbuffer ! rtph264depay ! h264parse ! "${sink[@]}"
}
ffmpeg_one() {
    local sdp="$WORK/ffmpeg/$1.sdp" out=(-f null -)
    printf 'v=0\r\no=- 0 0 IN IP4 %s\r\ns=bench\r\nc=IN IP4 %s\r\nt=0 0\r\nm=video %s RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\n' \
        "$CAM_ADDR" "$HOST_ADDR" "$2" > "$sdp"
    if [[ $RECORD == 1 ]]; then
        mkdir -p "$WORK/ffmpeg/rec$1"
        out=(-f segment -segment_time 10 -segment_format mp4 -segment_format_options movflags=frag_keyframe+empty_moov
             "$WORK/ffmpeg/rec$1/seg%05d.mp4")
    fi
    exec ffmpeg -nostdin -loglevel error -protocol_whitelist file,udp,rtp -buffer_size 1048576 -i "$sdp" -c copy "${out[@]}"
}

# What each tool wrote: segments and bytes (RECORD=1).
written() {
    local files bytes
    files=$(find "$WORK/$1" -name '*.mp4' | wc -l)
    bytes=$(find "$WORK/$1" -name '*.mp4' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
    echo "           $1 wrote $files segments, $((bytes / 1048576)) MB"
}

# Every stream inside ONE `camhost serve` ([[media.streams]], recording), as the appliance runs
# them: CPU per stream, and memory per stream as (Pss while receiving - Pss of the same serve
# without streams) / STREAMS. Only camhost's own process is measured (not its managed broker).
serve_pss_kb() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
SERVE_PID=
start_serve() {  # $1: directory, $2: number of [[media.streams]] entries; sets SERVE_PID
    local dir=$1 count=$2 i
    rm -rf "$dir"; mkdir -p "$dir"
    {
        printf '[mqtt]\nmanaged_broker_port = %s\n\n' $((BASE_PORT - 2))
        printf '[media]\nport_range = "%s-%s"\nsegment_seconds = 10\nrestart_after_seconds = 60\n' "$BASE_PORT" $((BASE_PORT + 2 * STREAMS + 1))
        for ((i = 0; i < count; i++)); do
            printf '\n[[media.streams]]\ncamera = "bench-%s"\nsource = "%s"\nport = %s\n' "$i" "$CAM_ADDR" $((BASE_PORT + 2 * i))
        done
    } > "$dir/camhost.toml"
    env -u CAMHOST_BIN "$BIN" serve --listen 127.0.0.1:$((BASE_PORT - 1)) --data-dir "$dir/var" --config "$dir/camhost.toml" \
        > "$dir/serve.out" 2> "$dir/serve.err" &
    SERVE_PID=$!
}
run_serve() {
    local base_pid pid base_pss pss ticks0 ticks1 drops0 drops1 sender
    start_serve "$WORK/serve-base" 0
    base_pid=$SERVE_PID
    sleep 5
    base_pss=$(serve_pss_kb "$base_pid")
    kill -TERM "$base_pid"; wait "$base_pid" 2>/dev/null || true
    start_serve "$WORK/serve" "$STREAMS"
    pid=$SERVE_PID
    sleep 5
    drops0=$(udp_drops)
    ticks0=$(cpu_ticks "$pid")
    ip netns exec "$NS" /usr/bin/python3 -c "$SENDER" "$STREAM" "$HOST_ADDR" "$BASE_PORT" "$STREAMS" "$SECONDS_RUN" > "$WORK/serve/sent" &
    sender=$!
    sleep $((SECONDS_RUN / 2))
    pss=$(serve_pss_kb "$pid")
    wait $sender
    sleep 1
    ticks1=$(cpu_ticks "$pid")
    drops1=$(udp_drops)
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    local cpu_per_stream
    cpu_per_stream=$(awk -v t=$((ticks1 - ticks0)) -v hz="$TICKS" -v s="$SECONDS_RUN" -v n="$STREAMS" 'BEGIN { printf "%.2f", 100 * t / hz / (s + 1) / n }')
    printf '%-10s cpu/stream %6s %%   mem/stream %6d kB   kernel udp drops %6d   sent %s   (one process: Pss %d kB, %d kB without streams)\n' \
        "serve" "$cpu_per_stream" $(((pss - base_pss) / STREAMS)) $((drops1 - drops0)) "$(cat "$WORK/serve/sent")" "$pss" "$base_pss"
    written serve
    echo "serve $cpu_per_stream $(((pss - base_pss) / STREAMS)) $((drops1 - drops0))" >> "$WORK/results"
}

rm -f "$WORK/results"
echo "== $STREAMS streams x ${SECONDS_RUN}s, $(nproc) cores, record=$RECORD"
TOOLS=" ${TOOLS:-camhost serve gstreamer ffmpeg} "
if [[ $TOOLS == *" camhost "* ]]; then
run camhost camhost_one
lost=0 frames=0
for f in "$WORK"/camhost/*.out; do
    l=$(sed -n 's/.*"lost": \([0-9]*\).*/\1/p' "$f"); fr=$(sed -n 's/.*"frames": \([0-9]*\).*/\1/p' "$f")
    lost=$((lost + ${l:-0})); frames=$((frames + ${fr:-0}))
done
echo "           camhost's own count: $lost packets lost, $frames pictures"
[[ $RECORD == 1 ]] && written camhost
fi
if [[ $RECORD == 1 && $TOOLS == *" serve "* ]]; then run_serve; fi
if [[ $TOOLS == *" gstreamer "* ]]; then
    run gstreamer gst_one
    [[ $RECORD == 1 ]] && written gstreamer
fi
if [[ $TOOLS == *" ffmpeg "* ]]; then
    run ffmpeg ffmpeg_one
    [[ $RECORD == 1 ]] && written ffmpeg
fi
awk '$1 == "camhost" || $1 == "serve" { own[$1] = $2 }
     $1 != "camhost" && $1 != "serve" && (min == "" || $2 < min) { min = $2; who = $1 }
     END { for (name in own) if (own[name] > 0 && min != "") printf "%s CPU per stream vs the lighter peer (%s): 1/%.1f\n", name, who, min / own[name] }' "$WORK/results"
