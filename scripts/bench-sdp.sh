#!/usr/bin/env bash
# Benchmark `camhost sdp check` on one file of many offers (a log of offers, each from its v=
# line), beside the only thing a user otherwise has: grep for the literal trap addresses in c=
# lines. No SDP linter exists as a user tool (Wireshark and GStreamer parse SDP only inside a
# capture or a pipeline; sdp-transform, pion/sdp and friends are libraries), so grep is a floor,
# not a peer: it knows nothing of media levels, a=rtcp, COMEDIA, this host's addresses or
# malformed lines.
#
#   scripts/bench-sdp.sh [OFFERS]        # default 20000 offers (~6 MB)
#   CAMHOST_BIN=.build/debug/camhost scripts/bench-sdp.sh 2000   # quick, unoptimised
#
# The release binary comes from scripts/build-release.sh unless CAMHOST_BIN is set. The offers
# are the fixtures in Tests/MediaTests/Fixtures/sdp (real ffmpeg output, a Kurento answer, the old
# platform's 0.0.0.0 offer, ...) repeated; the file lives in $BENCH_DIR (default /tmp/camhost-bench).
# Each tool runs 3 times; the best CPU time (user + sys; its wall time beside it) and the peak
# RSS are reported (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."

OFFERS=${1:-20000}
WORK=${BENCH_DIR:-/tmp/camhost-bench}
command -v /usr/bin/time >/dev/null || { echo "bench-sdp: /usr/bin/time is missing (package time)" >&2; exit 69; }
mkdir -p "$WORK"
BIN=${CAMHOST_BIN:-$(scripts/build-release.sh)}

FILE="$WORK/offers-$OFFERS.sdp"
if [ ! -s "$FILE" ]; then
    fixtures=(Tests/MediaTests/Fixtures/sdp/{old-platform,kurento-answer,comedia-partial,direct-ok,ffmpeg-rtp}.sdp)
    for ((i = 0; i < OFFERS; i++)); do
        cat "${fixtures[i % ${#fixtures[@]}]}"
        printf '\r\n'
    done > "$FILE"
fi
BYTES=$(stat -c %s "$FILE")
LINES=$(wc -l < "$FILE")
echo "file: $FILE, $OFFERS offers, $LINES lines, $BYTES bytes; binary: $BIN"

best() { # label, command... -> prints "label wall_seconds cpu_seconds rss_kb" (best of 3 by CPU time)
    local label=$1; shift
    local best_w="" best_c="" rss=0
    for _ in 1 2 3; do
        /usr/bin/time -f "%e %U %S %M" -o "$WORK/time.txt" "$@" > "$WORK/out.txt" 2>/dev/null || true
        # /usr/bin/time puts "Command exited with non-zero status N" first when the tool exits non-zero (sdp check: 1 for a trap).
        read -r w u sy kb <<< "$(tail -1 "$WORK/time.txt")"
        local c
        c=$(awk "BEGIN {print $u + $sy}")
        if [ -z "$best_c" ] || awk "BEGIN {exit !($c < $best_c)}"; then best_c=$c; best_w=$w; fi
        if [ "$kb" -gt "$rss" ]; then rss=$kb; fi
    done
    echo "$label $best_w $best_c $rss"
}

camhost_line=$(best camhost "$BIN" sdp check "$FILE" --json)
findings=$(grep -o '"severity"' "$WORK/out.txt" | wc -l)
traps=$(grep -o '"severity": "trap"' "$WORK/out.txt" | wc -l)
grep_line=$(best grep grep -nE '^c=IN IP[46] (0\.0\.0\.0|::|127\.)' "$FILE")
grep_hits=$(wc -l < "$WORK/out.txt")

read -r _ cw cc crss <<< "$camhost_line"
read -r _ gw gc grss <<< "$grep_line"
# CPU time (user + sys) is what the tool costs; wall time on a shared machine also counts waiting for a core.
rate() { awk "BEGIN {printf \"%.0f\", $1 / ($2 > 0 ? $2 : 0.005)}"; }
printf '%-8s %6s s CPU %6s s wall %9s offers/s (CPU) %8s KB peak RSS   %s\n' camhost "$cc" "$cw" "$(rate "$OFFERS" "$cc")" "$crss" "$findings findings, $traps traps"
printf '%-8s %6s s CPU %6s s wall %9s offers/s (CPU) %8s KB peak RSS   %s\n' grep "$gc" "$gw" "$(rate "$OFFERS" "$gc")" "$grss" "$grep_hits literal trap lines (no semantics)"
echo "camhost / grep CPU time: $(awk "BEGIN {printf \"%.0f\", $cc / ($gc > 0 ? $gc : 0.005)}")x (grep's below 10 ms counts as 5 ms)"
