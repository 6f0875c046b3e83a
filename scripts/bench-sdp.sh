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
# Each tool runs 3 times; the best wall time and the peak RSS are reported (/usr/bin/time).
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

best() { # label, command... -> prints "label seconds rss_kb"
    local label=$1; shift
    local best_s="" rss=0
    for _ in 1 2 3; do
        /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" > "$WORK/out.txt" 2>/dev/null || true
        # /usr/bin/time puts "Command exited with non-zero status N" first when the tool exits non-zero (sdp check: 1 for a trap).
        read -r s kb <<< "$(tail -1 "$WORK/time.txt")"
        if [ -z "$best_s" ] || awk "BEGIN {exit !($s < $best_s)}"; then best_s=$s; fi
        if [ "$kb" -gt "$rss" ]; then rss=$kb; fi
    done
    echo "$label $best_s $rss"
}

camhost_line=$(best camhost "$BIN" sdp check "$FILE" --json)
findings=$(grep -o '"severity"' "$WORK/out.txt" | wc -l)
traps=$(grep -o '"severity": "trap"' "$WORK/out.txt" | wc -l)
grep_line=$(best grep grep -nE '^c=IN IP[46] (0\.0\.0\.0|::|127\.)' "$FILE")
grep_hits=$(wc -l < "$WORK/out.txt")

read -r _ cs crss <<< "$camhost_line"
read -r _ gs grss <<< "$grep_line"
printf '%-8s %8s s %10s offers/s %8s MB/s %8s KB peak RSS   %s\n' \
    camhost "$cs" "$(awk "BEGIN {printf \"%.0f\", $OFFERS / ($cs > 0 ? $cs : 0.001)}")" \
    "$(awk "BEGIN {printf \"%.1f\", $BYTES / 1e6 / ($cs > 0 ? $cs : 0.001)}")" "$crss" "$findings findings, $traps traps"
printf '%-8s %8s s %10s offers/s %8s MB/s %8s KB peak RSS   %s\n' \
    grep "$gs" "$(awk "BEGIN {printf \"%.0f\", $OFFERS / ($gs > 0 ? $gs : 0.001)}")" \
    "$(awk "BEGIN {printf \"%.1f\", $BYTES / 1e6 / ($gs > 0 ? $gs : 0.001)}")" "$grss" "$grep_hits literal trap lines (no semantics)"
echo "camhost / grep wall time: $(awk "BEGIN {printf \"%.1f\", $cs / ($gs > 0 ? $gs : 0.01)}")x"
