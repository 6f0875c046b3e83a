#!/usr/bin/env bash
# Regenerates scripts/link/order.ld, the code layout of the release binary (docs/footprint.md):
# builds the shipped binary with a link map, runs `camhost serve` under valgrind's callgrind
# while a workload like an operator's and a script's goes through it, and lists the input
# sections holding the code that ran so the next link packs them together.
# Run it after larger changes to the code `serve` runs (stale entries only cost footprint),
# then rebuild (scripts/build-release.sh relinks when order.ld is newer than the binary).
# Sends only to loopback; takes a few minutes. KEEP=1 keeps the work directory (the profile,
# the link map, the logs) for a look afterwards.
#   scripts/link-order.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "link-order: installing valgrind" >&2; apt-get install -y -q valgrind >/dev/null; }

work="$(mktemp -d /tmp/camhost-link-order-XXXXXX)"
pids=()
# Profile a binary linked without an order: code in the ordered output section (.text.ordered)
# is outside .text, where valgrind does not look for functions. On any exit before the new list
# is written, the previous one is put back.
cp scripts/link/order.ld "$work/order.ld.before"
cleanup() {
    [[ $(wc -l < scripts/link/order.ld) -gt 5 ]] || cp "$work/order.ld.before" scripts/link/order.ld
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [[ -n "${KEEP:-}" ]]; then echo "link-order: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
printf '/* empty while scripts/link-order.sh profiles */\nSECTIONS\n{\n  .text.ordered : { }\n}\nINSERT BEFORE .text;\n' > scripts/link/order.ld
bin="$(scripts/build-release.sh -Xlinker -Map="$work/camhost.map")"
cp "$bin" "$work/camhost"
objcopy --strip-debug "$work/camhost" "$work/camhost-profiled"   # valgrind cannot read Swift's DWARF 5

port=18760; broker=18762; data="$work/data"
export CAMHOST_MQTT_MANAGED_BROKER_PORT=$broker CAMHOST_LOG_LEVEL=warning CAMHOST_RATE_LIMIT_API_RPS=0
# A first start makes the database, key and certificate; then recordings and tokens.
"$work/camhost" serve --listen 127.0.0.1:$port --data-dir "$data" >"$work/first.out" 2>&1 & pids+=("$!")
for _ in $(seq 100); do curl -sk -o /dev/null "https://127.0.0.1:$port/healthz" && break; sleep 0.1; done
python3 - "$data/camhost.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
for i in range(300):
    db.execute("INSERT INTO recordings (camera_id, path, start_at, end_at, duration_ms, bytes, codec) VALUES (?,?,?,?,?,?,?)",
               (f"sim-{i % 2 + 1}", f"sim-{i % 2 + 1}/2026/01/{i:05d}.webm".encode(), f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}.000Z",
                f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}.500Z", 60000, 1_000_000 + i, "vp8"))
db.commit()
PY
read_token="$("$work/camhost" token create --scope read --data-dir "$data" 2>/dev/null | head -1)"
admin_token="$("$work/camhost" token create --scope admin --data-dir "$data" 2>/dev/null | head -1)"
kill -TERM "${pids[0]}"; wait "${pids[0]}" || true; pids=()

valgrind --tool=callgrind --dump-instr=yes --compress-pos=no --compress-strings=no \
    --callgrind-out-file="$work/callgrind.out" \
    "$work/camhost-profiled" serve --listen 127.0.0.1:$port --data-dir "$data" >"$work/serve.out" 2>&1 & pids+=("$!")
serve=$!
for _ in $(seq 600); do curl -sk -o /dev/null "https://127.0.0.1:$port/healthz" && break; sleep 0.2; done
"$work/camhost" simulate cameras --count 2 --profile acme-json --broker "mqtt://127.0.0.1:$broker" --data-dir "$work/sim" >"$work/sim.out" 2>&1 & pids+=("$!")
sleep 5
url="https://127.0.0.1:$port"
get() { curl -sk -o /dev/null -w '%{http_code} ' "$@"; }
for _ in $(seq 20); do
    get -H "Authorization: Bearer $read_token" "$url/api/v1/recordings"
    get "$url/healthz"
done
# Several requests on one kept-alive connection.
get -H "Authorization: Bearer $read_token" "$url/api/v1/recordings" -o /dev/null "$url/api/v1/recordings?limit=10" -o /dev/null "$url/healthz"
for path in /api/v1/cameras /api/v1/overview /api/v1/health /api/v1/alarms /api/v1/whoami /api/v1/recordings/cleanup/runs \
            /api/v1/audit /api/v1/cameras/sim-1 /api/v1/recordings/1; do
    get -H "Authorization: Bearer $admin_token" "$url$path"
done
get -X POST -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' -d '{"command":"set-mode","mode":"night"}' "$url/api/v1/cameras/sim-1/commands"
get -X POST -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' -d '{"command":"get-status"}' "$url/api/v1/cameras/sim-2/commands"
get "$url/metrics"
get "$url/login"
get "$url/"
get "$url/api/v1/recordings"   # no token: 401
echo >&2
kill -TERM "$serve"; wait "$serve" || true
grep -q "totals:\|summary:" "$work/callgrind.out" || { echo "link-order: callgrind wrote no profile; see $work/serve.out" >&2; tail -5 "$work/serve.out" >&2; exit 1; }

python3 scripts/link-order.py "$work/callgrind.out" "$work/camhost-profiled" "$work/camhost.map" scripts/link/order.ld
echo "link-order: wrote scripts/link/order.ld ($(wc -l < scripts/link/order.ld) lines); rebuild with scripts/build-release.sh" >&2
