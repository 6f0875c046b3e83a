#!/usr/bin/env bash
# Retention benchmark (issue 4): 100,000 recordings with thumbnails plus 5,000 orphans.
#
#   scripts/bench-retention.sh            # N=100000 ORPHANS=5000 CAMERAS=10
#   N=20000 scripts/bench-retention.sh    # smaller run
#
# Measures, with a release build:
#   - `camhost recordings scan` registering every file (goal: < 3 s for 100k files);
#   - `camhost recordings cleanup` deleting half the recordings (age), their thumbnails, the
#     orphans and the directories left empty, against `find ROOT ... -delete` removing the same
#     set from a copy of the same tree (goal: <= 1.5x find);
#   - peak RSS of each camhost run with /usr/bin/time -v (goal: <= 30 MB).
# Both trees end identical (checked). Everything lives under one temporary directory, removed at exit.
set -euo pipefail

N=${N:-100000}
ORPHANS=${ORPHANS:-5000}
CAMERAS=${CAMERAS:-10}
HERE=$(cd "$(dirname "$0")/.." && pwd)

# The generated files are not real media: measure the index walk, not 100k failing ffprobe runs.
export CAMHOST_MEDIA_FFPROBE=${CAMHOST_MEDIA_FFPROBE:-off} CAMHOST_MEDIA_FFMPEG=${CAMHOST_MEDIA_FFMPEG:-off}

if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time for peak RSS" >&2
    apt-get install -y time >/dev/null
fi
# The binary scripts/run.sh ships, unless CAMHOST_BIN names one.
BIN=${CAMHOST_BIN:-$("$HERE/scripts/build-release.sh")}

WORK=$(mktemp -d /tmp/bench-retention.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/camhost" "$WORK/find"

echo "generating $N recordings with thumbnails and $ORPHANS orphans under $WORK ..." >&2
python3 - "$WORK/camhost/recordings" "$N" "$ORPHANS" "$CAMERAS" <<'EOF'
import os, sys, time
root, n, orphans, cameras = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
now = time.time()
day = 86400
per_camera = n // cameras
payload, thumb = b"v" * 512, b"j" * 64
dirs = set()
for c in range(cameras):
    for i in range(per_camera):
        # Half older than 30 days (31..60), half younger (1..29): one day directory per 100 files.
        old = i % 2 == 0
        age = (31 + (i // 2) % 30) * day if old else (1 + (i // 2) % 29) * day
        age += i  # distinct times
        d = f"cam{c}/{'old' if old else 'new'}-{(i // 200):04d}"
        rel = f"{d}/{i:06d}.webm"
        for path, data in ((os.path.join(root, rel), payload), (os.path.join(root, ".thumbnails", rel + ".jpg"), thumb)):
            parent = os.path.dirname(path)
            if parent not in dirs:
                os.makedirs(parent, exist_ok=True)
                dirs.add(parent)
            with open(path, "wb") as f:
                f.write(data)
            os.utime(path, (now - age, now - age))
for o in range(orphans):
    c = o % cameras
    path = os.path.join(root, f"cam{c}/new-{(o % (per_camera // 200)):04d}/leftover-{o}.part")
    with open(path, "wb") as f:
        f.write(b"p" * 32)
    os.utime(path, (now - 2 * day, now - 2 * day))
for d in sorted(dirs, key=len, reverse=True):
    os.utime(d, (now - 2 * day, now - 2 * day))
EOF
cp -a "$WORK/camhost/recordings" "$WORK/find/recordings"
FILES=$(find "$WORK/camhost/recordings" -type f | wc -l)
sync

measure() { # label, command...: prints "wall_seconds peak_kb"
    local log="$WORK/time-$1.log"; shift
    /usr/bin/time -v "$@" >"$WORK/out.json" 2>"$log" || { cat "$log" >&2; exit 1; }
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
    echo "$wall $rss"
}

read -r SCAN_WALL SCAN_RSS < <(measure scan "$BIN" recordings scan --data-dir "$WORK/camhost" --json)
REGISTERED=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["registered"])' "$WORK/out.json")

# The set find removes: recordings and thumbnails older than 30 days, orphan leftovers, then
# directories left empty (-depth visits contents first), like the cleanup.
read -r FIND_WALL _ < <(measure find find "$WORK/find/recordings" -depth -mindepth 1 \
    \( -type f \( -mtime +30 -o -name '*.part' \) -o -type d -empty \) -delete)

read -r CLEAN_WALL CLEAN_RSS < <(measure cleanup "$BIN" recordings cleanup --data-dir "$WORK/camhost" --force --json)
REPORT=$(cat "$WORK/out.json")

(cd "$WORK/camhost/recordings" && find . | sort) >"$WORK/left-camhost"
(cd "$WORK/find/recordings" && find . | sort) >"$WORK/left-find"
if cmp -s "$WORK/left-camhost" "$WORK/left-find"; then SAME=yes; else SAME=no; diff "$WORK/left-camhost" "$WORK/left-find" | head >&2; fi

python3 - "$N" "$ORPHANS" "$FILES" "$REGISTERED" "$SCAN_WALL" "$SCAN_RSS" "$FIND_WALL" "$CLEAN_WALL" "$CLEAN_RSS" "$SAME" "$REPORT" <<'EOF'
import json, sys
n, orphans, files, registered = map(int, sys.argv[1:5])
scan_wall, scan_rss, find_wall, clean_wall, clean_rss = float(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8]), int(sys.argv[9])
same, report = sys.argv[10], json.loads(sys.argv[11])
ratio = clean_wall / find_wall if find_wall else float("inf")
print(f"tree: {n} recordings + {n} thumbnails + {orphans} orphans = {files} files")
print(f"scan:    {scan_wall:.2f} s wall, peak RSS {scan_rss/1024:.1f} MB, {registered} registered   (goal < 3 s)")
print(f"find:    {find_wall:.2f} s wall")
print(f"cleanup: {clean_wall:.2f} s wall, peak RSS {clean_rss/1024:.1f} MB   (goal <= 1.5x find, <= 30 MB)")
print(f"ratio cleanup/find: {ratio:.2f}x")
print(f"cleanup report: deleted {report['deleted']}, thumbnails {report['thumbnails_deleted']}, orphan files {report['orphan_files']}, "
      f"dirs {report['orphan_dirs']}, bytes {report['bytes_freed']}, db {report['db_bytes_before']} -> {report['db_bytes_after']}, "
      f"errors {len(report['errors'])}, duration_ms {report['duration_ms']}")
print(f"same files left in both trees: {same}")
EOF
