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
#   - peak RSS of each camhost run with /usr/bin/time -v (goal: <= 30 MB);
#   - the dashboard during an in-process cleanup (issue 16): a third copy of the tree is served
#     by `camhost serve`; a client reads /api/v1/recordings over HTTPS in a loop (one keep-alive
#     connection, bearer token), first with the retention schedule off (SERVE_SECONDS, default
#     10), then while the schedule's cleanup at start deletes the same half. Each request asks
#     another page (?offset=0,7,..,1393), so every answer comes from the database, not from the
#     list cache (64 entries). Reported: p50, p99 and max latency without and during the
#     cleanup, and the cleanup's duration beside find's (goals: p99 during <= 2x p99 without,
#     max <= 100 ms, cleanup <= 1.5x find).
# The three trees end identical (checked). Everything lives under one temporary directory,
# removed at exit; the server (and the broker it manages) is stopped at exit.
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
unset CAMHOST_BIN  # camhost warns about CAMHOST_* variables it does not know

SERVE_SECONDS=${SERVE_SECONDS:-10}
WORK=$(mktemp -d /tmp/bench-retention.XXXXXX)
SERVE_PID=
stop_serve() { if [ -n "$SERVE_PID" ]; then kill "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; SERVE_PID=; fi; }
trap 'stop_serve; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/camhost" "$WORK/find" "$WORK/serve"

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
cp -a "$WORK/camhost/recordings" "$WORK/serve/recordings"
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

# --- The dashboard during an in-process cleanup -------------------------------------------
"$BIN" recordings scan --data-dir "$WORK/serve" --json >/dev/null
TOKEN=$("$BIN" token create --data-dir "$WORK/serve" --scope read --name bench)
PORT=$((20000 + RANDOM % 20000))
serve() { # retention.schedule_interval_hours (0: off; otherwise a cleanup runs at start)
    CAMHOST_RATE_LIMIT_API_RPS=0 CAMHOST_LOG_LEVEL=warning CAMHOST_MQTT_MANAGED_BROKER_PORT=$((PORT + 1)) \
    CAMHOST_RETENTION_SCHEDULE_INTERVAL_HOURS=$1 CAMHOST_RETENTION_SAFETY_MAX_SHARE_PERCENT=60 \
        "$BIN" serve --listen 127.0.0.1:$PORT --data-dir "$WORK/serve" >>"$WORK/serve.log" 2>&1 &
    SERVE_PID=$!
}
cat >"$WORK/client.py" <<'PYTHON'
# Reads /api/v1/recordings in a loop on one keep-alive HTTPS connection; one line per answer:
# wall-clock start (s), latency (ms), status. Stops after SECONDS, or 0.5 s after the database
# has a cleanup run. A refused connection (serve not up yet) is retried every 10 ms.
import http.client, sqlite3, ssl, sys, time
port, token, seconds, database, out = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5]
context = ssl._create_unverified_context()
headers = {"Authorization": "Bearer " + token}
deadline = time.time() + seconds
stop_at = None
lines, i, checked = [], 0, 0.0
connection = None
while time.time() < deadline and (stop_at is None or time.time() < stop_at):
    if connection is None:
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
    start = time.time()
    try:
        connection.request("GET", f"/api/v1/recordings?offset={(i % 200) * 7}", headers=headers)
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException):  # not up yet, or going down
        connection = None
        time.sleep(0.01)
        continue
    lines.append(f"{start:.6f} {(time.time() - start) * 1000:.3f} {response.status}\n")
    i += 1
    if database and stop_at is None and time.time() - checked > 0.25:
        checked = time.time()
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        if db.execute("SELECT count(*) FROM cleanup_runs").fetchone()[0] > 0:
            stop_at = time.time() + 0.5
        db.close()
open(out, "w").writelines(lines)
PYTHON
# Without cleanup (this start also makes the TLS files, so the second start is quicker).
serve 0
for _ in $(seq 300); do curl -sk -o /dev/null "https://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
python3 "$WORK/client.py" "$PORT" "$TOKEN" "$SERVE_SECONDS" "" "$WORK/quiet.txt"
stop_serve
# During the schedule's cleanup at start: the client is already knocking when serve starts.
python3 "$WORK/client.py" "$PORT" "$TOKEN" 3600 "$WORK/serve/camhost.db" "$WORK/busy.txt" &
CLIENT_PID=$!
serve 24
wait "$CLIENT_PID"
stop_serve
RUN=$(python3 -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute("SELECT started_at, report FROM cleanup_runs").fetchone(); print(r[0] + " " + r[1])' "$WORK/serve/camhost.db")
(cd "$WORK/serve/recordings" && find . | sort) >"$WORK/left-serve"
if cmp -s "$WORK/left-serve" "$WORK/left-find"; then SAME_SERVE=yes; else SAME_SERVE=no; diff "$WORK/left-serve" "$WORK/left-find" | head >&2; fi

python3 - "$N" "$ORPHANS" "$FILES" "$REGISTERED" "$SCAN_WALL" "$SCAN_RSS" "$FIND_WALL" "$CLEAN_WALL" "$CLEAN_RSS" "$SAME" "$REPORT" \
    "$WORK/quiet.txt" "$WORK/busy.txt" "$RUN" "$SAME_SERVE" <<'EOF'
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

import calendar, time
def samples(path):
    rows = [line.split() for line in open(path)]
    return [(float(t), float(ms), int(status)) for t, ms, status in rows]
def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")
quiet = samples(sys.argv[12])
busy = samples(sys.argv[13])
started_text, run_report = sys.argv[14].split(" ", 1)
run_report = json.loads(run_report)
started = calendar.timegm(time.strptime(started_text[:19], "%Y-%m-%dT%H:%M:%S")) + float("0." + started_text[20:23])
finished = started + run_report["duration_ms"] / 1000
during = [s for s in busy if s[0] + s[1] / 1000 >= started and s[0] <= finished]
covered = (min(finished, max(s[0] + s[1] / 1000 for s in during)) - max(started, min(s[0] for s in during))) if during else 0
bad = [s for s in quiet + during if s[2] != 200]
quiet_ms, during_ms = [s[1] for s in quiet], [s[1] for s in during]
print("serve, in-process cleanup (the retention schedule's run at start); API client on one keep-alive HTTPS connection:")
print(f"  without cleanup: {len(quiet_ms)} answers, p50 {percentile(quiet_ms, 50):.1f} ms, p99 {percentile(quiet_ms, 99):.1f} ms, max {max(quiet_ms):.1f} ms")
print(f"  during cleanup:  {len(during_ms)} answers over {covered:.2f} s of the cleanup's {finished - started:.2f} s, "
      f"p50 {percentile(during_ms, 50):.1f} ms, p99 {percentile(during_ms, 99):.1f} ms, max {max(during_ms) if during_ms else float('nan'):.1f} ms")
print(f"  p99 during / without: {percentile(during_ms, 99) / percentile(quiet_ms, 99):.2f}x   (goals: <= 2x; max <= 100 ms)")
print(f"  answers other than 200: {len(bad)}")
print(f"  cleanup: {finished - started:.2f} s, deleted {run_report['deleted']}, orphan files {run_report['orphan_files']}, "
      f"dirs {run_report['orphan_dirs']}, errors {len(run_report['errors'])}; ratio to find: {(finished - started) / find_wall:.2f}x   (goal <= 1.5x)")
print(f"  same files left as in find's tree: {sys.argv[15]}")
EOF
