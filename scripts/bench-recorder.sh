#!/usr/bin/env bash
# Benchmark the segment recorder (Media's SegmentRecorder on Wire's fMP4 writer) against ffmpeg's
# segment muxer doing the same job on the same input: a 2 Mbit/s H.264 stream (libx264, 1280x720,
# 25 frames/s, a keyframe every second, no B-frames, as cameras send) cut into fragmented MP4
# segments.
#
#   scripts/bench-recorder.sh [SECONDS]      # length of the input video, default 120
#
# camhost's side is `recorder-bench` (Tests/RecorderBench, release build): it splits the Annex B
# file into pictures, feeds them to a SegmentRecorder as fast as it takes them, and registers
# each segment in a real SQLite store (no thumbnails). ffmpeg's side:
#   ffmpeg -framerate 25 -i in.h264 -c copy -f segment -segment_time 10 -segment_format mp4 \
#          -segment_format_options movflags=frag_keyframe+empty_moov out%03d.mp4
# Both write 10 s segments to $BENCH_DIR (default /tmp/camhost-bench-recorder), three runs each;
# CPU is user+system time from /usr/bin/time, throughput is input bytes / wall time. Reported as
# ratios camhost / ffmpeg (below 1: camhost needs less).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_OF_VIDEO=${1:-120}
WORK=${BENCH_DIR:-/tmp/camhost-bench-recorder}
for tool in ffmpeg ffprobe /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench-recorder: $tool is missing (see scripts/install-deps.sh)" >&2; exit 69; }
done
mkdir -p "$WORK"

echo "== release build of recorder-bench"
swift build -c release --product recorder-bench 2>&1 | tail -1
BIN="$(swift build -c release --show-bin-path)/recorder-bench"

INPUT="$WORK/in-${SECONDS_OF_VIDEO}s.h264"
if [ ! -s "$INPUT" ]; then
    echo "== making $SECONDS_OF_VIDEO s of 2 Mbit/s H.264"
    ffmpeg -y -v error -f lavfi -i "testsrc2=size=1280x720:rate=25" -t "$SECONDS_OF_VIDEO" -pix_fmt yuv420p \
        -c:v libx264 -preset veryfast -bf 0 -g 25 -keyint_min 25 -b:v 2M -maxrate 2M -bufsize 2M \
        -bsf:v h264_mp4toannexb -f h264 "$INPUT"
fi
BYTES=$(stat -c %s "$INPUT")
echo "input: $INPUT, $BYTES bytes"

measure() {   # measure NAME COMMAND... -> appends "wall user sys maxrss_kb" to $WORK/NAME.times
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/time.tmp" "${@:2}" > "$WORK/$1.out" 2> "$WORK/$1.err"
    cat "$WORK/time.tmp" >> "$WORK/$1.times"
}

rm -f "$WORK"/camhost.times "$WORK"/ffmpeg.times
for _ in 1 2 3; do
    rm -rf "$WORK/camhost-root" "$WORK/camhost.db"* "$WORK/ffmpeg-out"
    mkdir -p "$WORK/camhost-root" "$WORK/ffmpeg-out"
    sync
    measure camhost "$BIN" "$WORK/camhost-root" "$WORK/camhost.db" "$INPUT" 10 25
    measure ffmpeg ffmpeg -v error -framerate 25 -i "$INPUT" -c copy -f segment -segment_time 10 -segment_format mp4 \
        -segment_format_options movflags=frag_keyframe+empty_moov "$WORK/ffmpeg-out/out%03d.mp4"
done
echo "camhost: $(cat "$WORK/camhost.out")"
echo "ffmpeg segments: $(find "$WORK/ffmpeg-out" -name '*.mp4' | wc -l)"

# Both outputs must hold every frame.
frames() { ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$1"; }
CAMHOST_FRAMES=0
while IFS= read -r -d '' f; do CAMHOST_FRAMES=$((CAMHOST_FRAMES + $(frames "$f"))); done < <(find "$WORK/camhost-root" -name '*.mp4' -print0)
FFMPEG_FRAMES=0; for f in "$WORK"/ffmpeg-out/*.mp4; do FFMPEG_FRAMES=$((FFMPEG_FRAMES + $(frames "$f"))); done
echo "frames: camhost $CAMHOST_FRAMES, ffmpeg $FFMPEG_FRAMES (input $((SECONDS_OF_VIDEO * 25)))"

python3 - "$WORK" "$BYTES" <<'PY'
import sys, statistics
work, size = sys.argv[1], int(sys.argv[2])
def load(name):
    rows = [list(map(float, line.split())) for line in open(f"{work}/{name}.times")]
    wall = statistics.median(r[0] for r in rows)
    cpu = statistics.median(r[1] + r[2] for r in rows)
    rss = statistics.median(r[3] for r in rows)
    return wall, cpu, rss
cw, cc, cr = load("camhost")
fw, fc, fr = load("ffmpeg")
print(f"{'':10} {'wall s':>8} {'cpu s':>8} {'MB/s':>8} {'peak RSS MB':>12}")
print(f"{'camhost':10} {cw:8.3f} {cc:8.3f} {size / cw / 1e6:8.1f} {cr / 1024:12.1f}")
print(f"{'ffmpeg':10} {fw:8.3f} {fc:8.3f} {size / fw / 1e6:8.1f} {fr / 1024:12.1f}")
print(f"ratios camhost/ffmpeg: cpu {cc / fc:.2f}, throughput {(size / cw) / (size / fw):.2f}, peak RSS {cr / fr:.2f}")
PY
