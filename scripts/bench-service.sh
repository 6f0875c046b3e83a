#!/usr/bin/env bash
# Benchmark: camhost as the boot-time service under a real systemd, beside the old stack.
#
#   sudo scripts/bench-service.sh [ROUNDS]        (default 5; CAMHOST_BIN=PATH to measure a built binary)
#
# camhost is installed by scripts/install.sh into a container booted by scripts/nspawn-lab.sh
# (systemd 252, Debian 12), as the unit exactly as shipped (scripts/systemd/camhost.service, no
# drop-in), and measured there, ROUNDS times each, median and max:
#   1. `systemctl start camhost` to active (READY=1: ActiveEnterTimestamp) and to the first 200
#      from /healthz (polled from the moment systemctl is called);
#   2. `kill -9` of the MainPID to /healthz answering 200 from the new process (goal <= 2 s);
#   3. `kill -STOP` of the MainPID (a main loop that no longer turns) to the new MainPID answering
#      200 (goal <= WatchdogSec + 1 s), and the same from the last watchdog ping systemd received
#      (WatchdogTimestamp): the watchdog fires WatchdogSec after the last ping, and pings come
#      every WatchdogSec / 2, so from the SIGSTOP it is 0 to WatchdogSec / 2 shorter;
#   4. resident memory of the whole service: the processes of the unit's cgroup (camhost and its
#      managed Mosquitto), RSS and PSS, after a fresh start and after 1,000 /healthz requests (one
#      TLS connection each, 8 at a time), beside the old stack on the host: the same Flask app as
#      scripts/bench-web.sh (scripts/old-stack-app.py) under Debian's Gunicorn, 2 sync workers over
#      TLS as the old platform ran it, plus Debian's cron daemon holding the old platform's crontab;
#      and, since camhost's figure holds its broker, the old stack with Debian's mosquitto.service
#      (idle in the container) added.
# The systemctl and curl loops run inside the container (one `nspawn-lab.sh exec` per phase), so
# the figures do not include entering its namespaces. Every wait is bounded; the container and
# the old stack's processes are removed on exit. Needs root, systemd-nspawn (scripts/install-deps.sh
# --test), gunicorn, python3-flask and cron (--bench). Takes 3-5 minutes, most of it booting the
# container and the watchdog rounds (each waits for the watchdog, WatchdogSec).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
[[ "$ROUNDS" =~ ^[0-9]+$ && "$ROUNDS" -ge 1 && "$ROUNDS" -le 50 ]] || { echo "bench-service: ROUNDS must be 1 to 50" >&2; exit 64; }
[[ $(id -u) -eq 0 ]] || { echo "bench-service: needs root (systemd-nspawn)" >&2; exit 77; }
for tool in systemd-nspawn gunicorn cron openssl curl unshare; do
    command -v "$tool" >/dev/null || { echo "bench-service: $tool is missing (scripts/install-deps.sh --bench)" >&2; exit 69; }
done
/usr/bin/python3 -c 'import flask' 2>/dev/null || { echo "bench-service: python3-flask is missing (scripts/install-deps.sh --bench)" >&2; exit 69; }

LAB="bench$$"
WORK=$(mktemp -d /tmp/bench-service.XXXXXX)
FLASK_PORT=18620
PIDS=()
LAB_UP=0
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    [[ -s "$WORK/gunicorn.pid" ]] && kill "$(cat "$WORK/gunicorn.pid")" 2>/dev/null
    wait 2>/dev/null || true
    [[ $LAB_UP -eq 1 ]] && scripts/nspawn-lab.sh down "$LAB" || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "bench-service: failed at line $LINENO" >&2' ERR

if [[ -z "${CAMHOST_BIN:-}" ]]; then BIN="$(scripts/build-release.sh)"; else BIN=$CAMHOST_BIN; fi
# The unit as shipped: its watchdog and abort time-outs are the goals' terms.
unit_seconds() { sed -n "s/^$1=\([0-9]*\)s$/\1/p" scripts/systemd/camhost.service; }
WATCHDOG_SEC=$(unit_seconds WatchdogSec)
ABORT_SEC=$(unit_seconds TimeoutAbortSec)
[[ -n "$WATCHDOG_SEC" && -n "$ABORT_SEC" ]] || { echo "bench-service: WatchdogSec= or TimeoutAbortSec= is not in whole seconds in the unit" >&2; exit 65; }

# What runs inside the container: `bash -c "$DRIVER" driver PHASE ROUNDS`. Prints one line per
# measurement: NAME VALUE... (microseconds, kB).
DRIVER=$(cat <<'EOF'
set -euo pipefail
unit=camhost.service
port=$(sed -n '/^\[server\]/,/^\[/ s/^listen = "[^"]*:\([0-9]*\)"$/\1/p' /etc/camhost/camhost.toml)
url="https://127.0.0.1:${port:-5000}/healthz"
WD=$(systemctl show -p WatchdogUSec --value camhost.service | sed -n 's/^\([0-9]*\)s$/\1/p')
WD=${WD:-10}
now() { echo "${EPOCHREALTIME/./}"; }                        # microseconds, realtime
prop() { systemctl show -p "$1" --value "$unit"; }
stamp() { local v; v=$(systemctl show --timestamp=us+utc -p "$1" --value "$unit"); [[ -n "$v" ]] && date -d "$v" +%s%6N || echo 0; }
healthy() { [[ $(curl -sk -o /dev/null -w '%{http_code}' --max-time 1 "$url" 2>/dev/null) == 200 ]]; }
# Waits (bounded: $1 seconds) until /healthz answers 200; prints the time it did, or fails.
until_healthy() {
    local end=$(( $(now) + $1 * 1000000 ))
    while (( $(now) < end )); do healthy && { now; return 0; }; sleep 0.01; done
    echo "driver: /healthz did not answer 200 within $1 s" >&2; journalctl -u "$unit" --no-pager -n 20 >&2; return 1
}
# Waits (bounded) until the unit has a MainPID other than $1; prints the time it did.
until_new_pid() {
    local end=$(( $(now) + $2 * 1000000 )) pid
    while (( $(now) < end )); do
        pid=$(prop MainPID); [[ "$pid" != 0 && "$pid" != "$1" ]] && { now; return 0; }
        sleep 0.01
    done
    echo "driver: no new MainPID within $2 s" >&2; journalctl -u "$unit" --no-pager -n 20 >&2; return 1
}
until_active() {
    for _ in $(seq 1 600); do [[ $(prop ActiveState) == active ]] && return 0; sleep 0.05; done
    echo "driver: $unit not active after 30 s" >&2; journalctl -u "$unit" --no-pager -n 20 >&2; return 1
}
# StartLimitBurst=5 in 300 s counts every start, ours too: reset-failed forgets them (the unit is unchanged).
fresh() { systemctl reset-failed "$unit" 2>/dev/null || true; }
memory() { # LABEL UNIT: the unit's processes, their RSS and PSS summed (kB), and their names
    local cg procs rss=0 pss=0 names="" r p
    cg=$(systemctl show -p ControlGroup --value "$2")
    for f in /sys/fs/cgroup/unified"$cg"/cgroup.procs /sys/fs/cgroup"$cg"/cgroup.procs /sys/fs/cgroup/systemd"$cg"/cgroup.procs; do
        [[ -r "$f" ]] && { procs=$(cat "$f"); break; }
    done
    # A pid of 0 (a process that is exiting) or one gone before it is read counts nothing.
    for pid in $(sort -un <<<"${procs:-}"); do
        r=$(awk '/^Rss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null) || continue
        p=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null) || continue
        [[ -n "$r" && -n "$p" ]] || continue
        rss=$((rss + r)); pss=$((pss + p)); names+="$(cat "/proc/$pid/comm"):$r,"
    done
    echo "mem $1 $rss $pss ${names%,}"
}
case "$1" in
boot)   # the start at boot: the first one, which makes the key, the certificate and the database
    until_active
    echo "boot $(( $(stamp ActiveEnterTimestamp) - $(stamp InactiveExitTimestamp) ))"
    until_healthy 10 >/dev/null
    ;;
start)
    for _ in $(seq 1 "$2"); do
        systemctl stop "$unit"; fresh
        t0=$(now)
        systemctl start "$unit" & starter=$!
        t200=$(until_healthy 30)
        wait "$starter"
        tret=$(now)
        echo "start $(( $(stamp ActiveEnterTimestamp) - t0 )) $(( t200 - t0 )) $(( tret - t0 ))"
    done
    ;;
kill)
    for _ in $(seq 1 "$2"); do
        until_healthy 10 >/dev/null; fresh
        pid=$(prop MainPID)
        t0=$(now)
        kill -9 "$pid"
        tpid=$(until_new_pid "$pid" 20)
        t200=$(until_healthy 20)
        echo "kill $(( t200 - t0 )) $(( tpid - t0 ))"
        sleep 0.5
    done
    ;;
watchdog)
    for _ in $(seq 1 "$2"); do
        until_healthy 10 >/dev/null; fresh
        # A hang comes at any moment between two pings (WatchdogSec / 2 apart): stop it 0 to 4.9 s after it answers.
        sleep "$(( RANDOM % (WD / 2) )).$(( RANDOM % 10 ))"
        pid=$(prop MainPID)
        t0=$(now)
        kill -STOP "$pid"
        sleep 0.2                          # a ping sent just before the SIGSTOP is in systemd's queue
        ping=$(stamp WatchdogTimestamp)
        tpid=$(until_new_pid "$pid" 60)
        t200=$(until_healthy 20)
        log=$(journalctl -u "$unit" -o short-unix --no-pager --since "@$(( t0 / 1000000 ))")
        fired=$(awk '/Watchdog timeout/ {t = $1} END {print t}' <<<"$log")
        fired=${fired/./}
        result=$(sed -n "s/.*Failed with result '\([a-z-]*\)'.*/\1/p" <<<"$log" | tail -n 1)
        echo "watchdog $(( t200 - t0 )) $(( t200 - ping )) $(( ${fired:-0} - ping )) $(( tpid - t0 )) ${result:-none} $(( t0 - ping ))"
    done
    ;;
memory)
    fresh; systemctl restart "$unit"; until_healthy 30 >/dev/null
    sleep 2
    memory started "$unit"
    codes=$(curl -sk --no-progress-meter -Z --parallel-max 8 -H 'Connection: close' -o /dev/null -w '%{http_code}\n' "$url?n=[1-$2]" | sort | uniq -c | awk '{printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1}')
    sleep 1
    memory after "$unit"
    memory broker mosquitto.service     # Debian's broker, as the old platform ran it beside Gunicorn
    echo "codes $codes"
    ;;
esac
EOF
)
in_lab() { scripts/nspawn-lab.sh exec "$LAB" bash -c "$DRIVER" driver "$@"; }

echo "== booting a container with camhost installed as the shipped unit ($BIN)"
t0=$(date +%s)
LAB_UP=1
scripts/nspawn-lab.sh up "$LAB" "$BIN" >/dev/null
echo "   booted in $(( $(date +%s) - t0 )) s (copying the Debian root, install.sh, boot)"
in_lab boot 0 | tee "$WORK/boot"
echo "== $ROUNDS rounds of start, kill -9, SIGSTOP (each SIGSTOP round waits for the ${WATCHDOG_SEC} s watchdog)"
in_lab start "$ROUNDS" | tee "$WORK/start"
in_lab kill "$ROUNDS" | tee "$WORK/kill"
in_lab watchdog "$ROUNDS" | tee "$WORK/watchdog"
echo "== memory: camhost's unit after a fresh start and after 1,000 /healthz requests"
in_lab memory 1000 | tee "$WORK/memory"

# The old stack on the host: the same Flask app under Gunicorn (2 sync workers, TLS), and cron.
echo "== the old stack: Flask under Gunicorn (2 sync workers, TLS) and cron, on the host"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
cp scripts/old-stack-app.py "$WORK/app.py"
(cd "$WORK" && BENCH_DB="$WORK/none.db" BENCH_TOKEN=unused exec /usr/bin/gunicorn -k sync -w 2 --pid "$WORK/gunicorn.pid" \
    --certfile "$WORK/cert.pem" --keyfile "$WORK/key.pem" -b "127.0.0.1:$FLASK_PORT" --log-level warning app:app >"$WORK/gunicorn.out" 2>&1) &
PIDS+=("$!")
# The old platform's crontab (health script every 12 minutes, restarts every 8 hours, log clean-up
# at 03:00, certbot twice a day), commands replaced by `true`: cron's own memory is what counts.
cat >"$WORK/crontab" <<'CRON'
SHELL=/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin
*/12 * * * * root true health-check
0 0,8,16 * * * root true restart-services
0 3 * * * root true clean-logs
17 4,16 * * * root true certbot-renew
CRON
chmod 0600 "$WORK/crontab"
# In a mount namespace of its own: an empty /etc/cron.d and spool, this crontab, its own /run
# (pid file), so the host's cron jobs never run and a host cron does not stop it.
unshare --mount --propagation private /bin/sh -c 'mount -t tmpfs tmpfs /etc/cron.d && mount -t tmpfs tmpfs /var/spool/cron &&
    mount --bind "$1" /etc/crontab && mount -t tmpfs tmpfs /run && exec cron -f' sh "$WORK/crontab" >"$WORK/cron.out" 2>&1 &
CRON_PID=$!
PIDS+=("$CRON_PID")
flask_url="https://127.0.0.1:$FLASK_PORT/healthz"
for _ in $(seq 1 300); do [[ $(curl -sk -o /dev/null -w '%{http_code}' --max-time 1 "$flask_url") == 200 ]] && break; sleep 0.1; done
[[ $(curl -sk -o /dev/null -w '%{http_code}' --max-time 2 "$flask_url") == 200 ]] || { echo "bench-service: gunicorn did not answer" >&2; cat "$WORK/gunicorn.out" >&2; exit 70; }
for _ in $(seq 1 50); do [[ "$(cat "/proc/$CRON_PID/comm" 2>/dev/null)" == cron ]] && break; sleep 0.1; done
[[ "$(cat "/proc/$CRON_PID/comm" 2>/dev/null)" == cron ]] || { echo "bench-service: cron did not start" >&2; cat "$WORK/cron.out" >&2; exit 70; }
old_memory() { # LABEL: Gunicorn's master and workers, and cron: RSS and PSS summed (kB)
    local master rss=0 pss=0 names="" r p
    master=$(cat "$WORK/gunicorn.pid")
    for pid in "$master" $(pgrep -P "$master") "$CRON_PID"; do
        r=$(awk '/^Rss:/ {print $2}' "/proc/$pid/smaps_rollup"); p=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup")
        rss=$((rss + r)); pss=$((pss + p)); names+="$(cat "/proc/$pid/comm"):$r,"
    done
    echo "mem $1 $rss $pss ${names%,}"
}
sleep 2
old_memory started | tee "$WORK/old"
codes=$(curl -sk --no-progress-meter -Z --parallel-max 8 -H 'Connection: close' -o /dev/null -w '%{http_code}\n' "$flask_url?n=[1-1000]" | sort | uniq -c | awk '{printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1}')
sleep 1
old_memory after | tee -a "$WORK/old"
echo "codes $codes"

# The table: medians and maxima in seconds.
stats() { # FILE FIELD -> "median max" in seconds
    awk -v f="$2" '{print $f}' "$1" | sort -n | awk '{v[NR] = $1} END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f %.2f", m / 1e6, v[NR] / 1e6}'
}
row() { # LABEL "median max" GOAL
    local median max verdict=""
    read -r median max <<<"$2"
    [[ -n "${3:-}" ]] && verdict=$(awk -v m="$max" -v g="$3" 'BEGIN {print (m <= g) ? "met" : "MISSED"}')
    printf "%-52s %8s %8s   %s\n" "$1" "$median" "$max" "${3:+<= $3 s, $verdict (max)}"
}
echo
echo "== under systemd 252 in systemd-nspawn, the unit as shipped (WatchdogSec=${WATCHDOG_SEC}s, TimeoutAbortSec=${ABORT_SEC}s), $ROUNDS rounds, seconds"
printf "%-52s %8s %8s   %s\n" "" median max goal
printf "%-52s %8.2f\n" "first start at boot (key, certificate, database made)" "$(awk '{print $2 / 1e6}' "$WORK/boot")"
row "systemctl start -> active (READY=1)" "$(stats "$WORK/start" 2)"
row "systemctl start -> first 200 from /healthz" "$(stats "$WORK/start" 3)"
row "systemctl start -> systemctl returns" "$(stats "$WORK/start" 4)"
row "kill -9 -> new MainPID" "$(stats "$WORK/kill" 3)"
row "kill -9 -> 200 from /healthz again" "$(stats "$WORK/kill" 2)" 2
row "last watchdog ping -> SIGSTOP" "$(stats "$WORK/watchdog" 7)"
row "SIGSTOP -> new MainPID" "$(stats "$WORK/watchdog" 5)"
row "SIGSTOP -> new MainPID answers 200" "$(stats "$WORK/watchdog" 2)" $((WATCHDOG_SEC + ABORT_SEC))
row "last watchdog ping -> watchdog fires (journal)" "$(stats "$WORK/watchdog" 4)"
row "last watchdog ping -> new MainPID answers 200" "$(stats "$WORK/watchdog" 3)"
echo "   results of the SIGSTOP rounds: $(awk '{print $6}' "$WORK/watchdog" | sort | uniq -c | awk '{printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1}')"

mem() { awk -v l="$2" -v f="$3" '$1 == "mem" && $2 == l {printf "%.1f", $f / 1024}' "$1"; }
echo
echo "== resident memory, MB (RSS summed over the processes; PSS shares pages the processes share)"
printf "%-44s %9s %9s %9s %9s\n" "" "RSS" "PSS" "RSS 1k" "PSS 1k"
printf "%-44s %9s %9s %9s %9s\n" "camhost.service (camhost + managed mosquitto)" "$(mem "$WORK/memory" started 3)" "$(mem "$WORK/memory" started 4)" "$(mem "$WORK/memory" after 3)" "$(mem "$WORK/memory" after 4)"
printf "%-44s %9s %9s %9s %9s\n" "old stack (gunicorn master + 2 sync + cron)" "$(mem "$WORK/old" started 3)" "$(mem "$WORK/old" started 4)" "$(mem "$WORK/old" after 3)" "$(mem "$WORK/old" after 4)"
ratio() { awk -v a="$(mem "$WORK/old" "$1" "$2")" -v b="$(mem "$WORK/memory" "$1" "$2")" 'BEGIN {printf "%.1fx", a / b}'; }
printf "%-44s %9s %9s %9s %9s\n" "old stack / camhost" "$(ratio started 3)" "$(ratio started 4)" "$(ratio after 3)" "$(ratio after 4)"
# camhost's figure holds its broker; the old platform ran Debian's mosquitto.service beside Gunicorn.
with_broker() { awk -v a="$(mem "$WORK/old" "$1" "$2")" -v b="$(mem "$WORK/memory" broker "$2")" -v c="$(mem "$WORK/memory" "$1" "$2")" 'BEGIN {printf "%.1f (%.1fx)", a + b, (a + b) / c}'; }
echo "   with the old platform's own broker (Debian's mosquitto.service, idle in the container: RSS $(mem "$WORK/memory" broker 3) MB, PSS $(mem "$WORK/memory" broker 4) MB):"
echo "   old stack + broker after 1,000 requests: RSS $(with_broker after 3) MB, PSS $(with_broker after 4) MB"
echo "   per process after 1,000 requests (RSS kB): camhost.service $(awk '$1 == "mem" && $2 == "after" {print $5}' "$WORK/memory");" \
     "old stack $(awk '$1 == "mem" && $2 == "after" {print $5}' "$WORK/old")"
echo "   /healthz answers: camhost $(awk '$1 == "codes" {$1 = ""; print}' "$WORK/memory"); flask $codes"
