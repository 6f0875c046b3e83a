#!/usr/bin/env bash
# Benchmark `camhost diagnose rtcp --read` (the release build of scripts/build-release.sh) against
# tshark and tcpdump on a capture of real RTP+RTCP traffic of at least 1 M packets, at two file
# sizes to show that peak RSS does not grow with the file. Two tshark commands:
#   tshark fields  `tshark -n -r F -d udp.port==P,rtcp ... -T fields -e rtcp.pt` (the RTCP types, as we count them)
#   tshark -Y      `tshark -r F -q -Y rtcp -d udp.port==P,rtcp ...` (tshark's fastest way to find RTCP)
# and the read floor, `tcpdump -r F -w /dev/null udp`. Each time is the best of a few runs, as wall
# clock and as CPU (user + system): on a shared machine the CPU seconds are the steadier measure.
#
#   scripts/bench-diagnose.sh [PACKETS]      # default 1000000; the second size is twice that
#
# Needs root (tcpdump on lo), gst-launch-1.0 (+ plugins-base/-good), tcpdump, tshark, editcap,
# mergecap, capinfos (wireshark tools) and /usr/bin/time (package `time`). The captures live in
# $BENCH_DIR (default /tmp/camhost-bench) and are reused on the next run; never commit them.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKETS=${1:-1000000}
WORK=${BENCH_DIR:-/tmp/camhost-bench}
RTP_PORT=47000 RTCP_PORT=47001 FEEDBACK_PORT=47005
for tool in gst-launch-1.0 tcpdump tshark editcap mergecap capinfos /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench-diagnose: $tool is missing (see scripts/install-deps.sh)" >&2; exit 69; }
done
mkdir -p "$WORK"

echo "== release build"
BIN="$(scripts/build-release.sh)"

# 1. Real traffic: a raw-video RTP sender and a receiver on loopback, both rtpsession with a
#    100 ms RTCP interval; the receiver's feedback goes to 0.0.0.0 (the trap). About 6k packets/s.
BASE="$WORK/base.pcap"
if [ ! -s "$BASE" ]; then
    echo "== capturing 10 s of RTP+RTCP on lo"
    tcpdump -i lo -n -s 0 -B 32768 -w "$BASE.tmp" "udp and (port $RTP_PORT or port $RTCP_PORT or port $FEEDBACK_PORT)" 2>"$WORK/tcpdump.log" &
    DUMP=$!
    sleep 1
    timeout -s INT 10 gst-launch-1.0 -q rtpsession name=s rtcp-min-interval=100000000 \
        videotestsrc is-live=true ! video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! rtpvrawpay mtu=600 ! s.send_rtp_sink \
        s.send_rtp_src ! udpsink host=127.0.0.1 port=$RTP_PORT \
        s.send_rtcp_src ! udpsink host=127.0.0.1 port=$RTCP_PORT sync=false async=false \
        udpsrc port=$FEEDBACK_PORT ! s.recv_rtcp_sink >/dev/null 2>&1 &
    SENDER=$!
    timeout -s INT 10 gst-launch-1.0 -q rtpsession name=s rtcp-min-interval=100000000 \
        udpsrc address=127.0.0.1 port=$RTP_PORT caps="application/x-rtp,media=video,clock-rate=90000,encoding-name=RAW,sampling=YCbCr-4:2:0,depth=(string)8,width=(string)320,height=(string)240,payload=96" ! s.recv_rtp_sink \
        s.recv_rtp_src ! fakesink \
        udpsrc address=127.0.0.1 port=$RTCP_PORT ! s.recv_rtcp_sink \
        s.send_rtcp_src ! udpsink host=0.0.0.0 port=$FEEDBACK_PORT sync=false async=false >/dev/null 2>&1 &
    RECEIVER=$!
    wait $SENDER $RECEIVER || true
    sleep 1
    kill -INT $DUMP; wait $DUMP || true
    mv "$BASE.tmp" "$BASE"
fi
BASE_COUNT=$(capinfos -M -c "$BASE" | awk -F': *' '/Number of packets/ {print $2}')
echo "base capture: $BASE_COUNT packets ($(tshark -r "$BASE" -n -d udp.port==$RTCP_PORT,rtcp -d udp.port==$FEEDBACK_PORT,rtcp -Y rtcp 2>/dev/null | wc -l) RTCP)"

# 2. Replicate (time-shifted copies, concatenated) to the sizes wanted.
make_file() { # packets -> path
    local want=$1 out="$WORK/bench-$1.pcap"
    if [ ! -s "$out" ]; then
        local copies=$(( (want + BASE_COUNT - 1) / BASE_COUNT )) parts=()
        for ((i = 0; i < copies; i++)); do
            editcap -t $((i * 12)) "$BASE" "$WORK/part-$i.pcap"
            parts+=("$WORK/part-$i.pcap")
        done
        mergecap -a -F pcap -w "$out" "${parts[@]}"
        rm -f "${parts[@]}"
    fi
    echo "$out"
}

measure() { # label command... ; prints "wall_seconds max_rss_kib cpu_seconds"
    local label=$1; shift
    /usr/bin/time -v "$@" >/dev/null 2>"$WORK/time-$label.txt" || true
    awk -F': ' '
        /Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; wall = s }
        /User time \(seconds\)/ { cpu += $2 }
        /System time \(seconds\)/ { cpu += $2 }
        /Maximum resident set size/ { rss = $2 }
        END { printf "%.2f %d %.2f\n", wall, rss, cpu }' "$WORK/time-$label.txt"
}

best_of() { # runs label command... ; the best wall time and the best CPU time, each on its own
    local runs=$1 label=$2; shift 2
    local wall="" rss=0 cpu="" w r c
    for ((i = 0; i < runs; i++)); do
        read -r w r c < <(measure "$label" "$@")
        if [ -z "$wall" ] || awk -v a="$w" -v b="$wall" 'BEGIN { exit !(a < b) }'; then wall=$w; fi
        if [ -z "$cpu" ] || awk -v a="$c" -v b="$cpu" 'BEGIN { exit !(a < b) }'; then cpu=$c; fi
        if [ "$r" -gt "$rss" ]; then rss=$r; fi
    done
    echo "$wall $rss $cpu"
}

ratio() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { printf f "x", a / (b > 0 ? b : 0.01) }'; }

printf '\n%-13s %-8s %-18s %-18s %-18s %-18s\n' "file" "packets" "camhost" "tshark fields" "tshark -Y" "tcpdump (floor)"
printf '%-13s %-8s %-18s %-18s %-18s %-18s\n' "" "" "wall/cpu s, RSS" "wall/cpu s, RSS" "wall/cpu s, RSS" "wall/cpu s, RSS"
RATIOS=()
for size in "$PACKETS" $((PACKETS * 2)); do
    FILE=$(make_file "$size")
    COUNT=$(capinfos -M -c "$FILE" | awk -F': *' '/Number of packets/ {print $2}')
    sync
    # Warm the page cache so every tool reads from memory.
    cat "$FILE" >/dev/null
    read -r C_WALL C_RSS C_CPU < <(best_of 5 camhost "$BIN" diagnose rtcp --camera 127.0.0.1 --read "$FILE" --json)
    read -r T_WALL T_RSS T_CPU < <(best_of 1 tshark tshark -n -r "$FILE" -d udp.port==$RTCP_PORT,rtcp -d udp.port==$FEEDBACK_PORT,rtcp -T fields -e rtcp.pt)
    read -r Y_WALL Y_RSS Y_CPU < <(best_of 1 tshark-y tshark -r "$FILE" -q -Y rtcp -d udp.port==$RTCP_PORT,rtcp -d udp.port==$FEEDBACK_PORT,rtcp)
    read -r D_WALL D_RSS D_CPU < <(best_of 5 tcpdump tcpdump -r "$FILE" -w /dev/null udp)
    cell() { printf '%s/%s %dM' "$1" "$2" $(( $3 / 1024 )); }
    printf '%-13s %-8s %-18s %-18s %-18s %-18s\n' "$(basename "$FILE" .pcap)" "$COUNT" \
        "$(cell "$C_WALL" "$C_CPU" "$C_RSS")" "$(cell "$T_WALL" "$T_CPU" "$T_RSS")" \
        "$(cell "$Y_WALL" "$Y_CPU" "$Y_RSS")" "$(cell "$D_WALL" "$D_CPU" "$D_RSS")"
    RATIOS+=("$(printf '%-13s wall: tshark fields/camhost %s, tshark -Y/camhost %s, camhost/tcpdump %s;  cpu: %s, %s, %s' \
        "$(basename "$FILE" .pcap)" \
        "$(ratio "$T_WALL" "$C_WALL" %.1f)" "$(ratio "$Y_WALL" "$C_WALL" %.1f)" "$(ratio "$C_WALL" "$D_WALL" %.2f)" \
        "$(ratio "$T_CPU" "$C_CPU" %.1f)" "$(ratio "$Y_CPU" "$C_CPU" %.1f)" "$(ratio "$C_CPU" "$D_CPU" %.2f)")")
done
echo
printf '%s\n' "${RATIOS[@]}"
echo
echo "verdict on the benchmark file (the receiver's feedback went to 0.0.0.0):"
"$BIN" diagnose rtcp --camera 127.0.0.1 --read "$WORK/bench-$PACKETS.pcap" | head -3 || true
echo "goals: tshark -Y/camhost >= 30x, camhost/tcpdump <= 1.2x, camhost RSS flat across sizes"
