#!/usr/bin/env bash
# A real systemd, booted in systemd-nspawn, with camhost installed by scripts/install.sh: where the
# service tests and scripts/bench-service.sh check the unit (this machine's PID 1 is not systemd).
# The container has its own network (--private-network: loopback only) and is thrown away after.
#
#   scripts/nspawn-lab.sh root                     # make the cached Debian root (debootstrap, ~250 MB, once)
#   scripts/nspawn-lab.sh up NAME BINARY [DROPIN]  # copy the root, install camhost, boot; prints the leader pid
#   scripts/nspawn-lab.sh exec NAME COMMAND...     # run a command inside (all namespaces of the container)
#   scripts/nspawn-lab.sh down NAME                # power off and remove
#
# DROPIN: a unit drop-in file (e.g. a shorter WatchdogSec for tests) installed as
# /etc/systemd/system/camhost.service.d/lab.conf. The cache lives in $CAMHOST_NSPAWN_CACHE
# (default /var/cache/camhost-test); boots take a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${CAMHOST_NSPAWN_CACHE:-/var/cache/camhost-test}"
base="$cache/bookworm"
labs="${TMPDIR:-/tmp}"
packages=systemd,systemd-sysv,dbus,libmicrohttpd12,libgnutls30,libsqlite3-0,libmosquitto1,libpcap0.8,mosquitto,curl,ca-certificates,iproute2,procps,libcap2-bin

need_root() { [[ $(id -u) -eq 0 ]] || { echo "nspawn-lab: needs root" >&2; exit 77; }; }
leader_of() {
    local pidfile="$labs/camhost-nspawn-$1.pid"
    [[ -r "$pidfile" ]] || { echo "nspawn-lab: no lab named $1" >&2; exit 66; }
    pgrep -P "$(cat "$pidfile")" | head -n 1
}

case "${1:-}" in
root)
    need_root
    [[ -x "$base/lib/systemd/systemd" ]] && exit 0
    for tool in debootstrap systemd-nspawn; do
        command -v "$tool" >/dev/null || { echo "nspawn-lab: $tool is missing (scripts/install-deps.sh --test)" >&2; exit 69; }
    done
    mkdir -p "$cache"
    exec 9>"$cache/.lock"
    flock 9
    [[ -x "$base/lib/systemd/systemd" ]] && exit 0
    rm -rf "$base.tmp"
    echo "nspawn-lab: making a Debian root for the service tests in $base (once; about a minute)" >&2
    # The mirror is the one apt uses here.
    mirror="$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p; s/^deb  *\([^ ]*debian\) .*/\1/p' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -n 1)"
    if ! debootstrap --variant=minbase --include="$packages" bookworm "$base.tmp" ${mirror:+"$mirror"} > "$cache/debootstrap.log" 2>&1; then
        echo "nspawn-lab: debootstrap failed; see $cache/debootstrap.log" >&2
        tail -n 5 "$cache/debootstrap.log" >&2
        exit 69
    fi
    # No getty or networkd noise in a lab; the journal stays in memory.
    rm -f "$base.tmp/etc/systemd/system/getty.target.wants/"* 2>/dev/null || true
    mv "$base.tmp" "$base"
    ;;
up)
    need_root
    name="${2:?usage: up NAME BINARY [DROPIN]}"
    binary="${3:?usage: up NAME BINARY [DROPIN]}"
    dropin="${4:-}"
    [[ -x "$base/lib/systemd/systemd" ]] || "$0" root
    dir="$labs/camhost-nspawn-$name"
    rm -rf "$dir"
    cp -a "$base" "$dir"
    scripts/install.sh --root "$dir" --binary "$binary" --no-start > /dev/null
    if [[ -n "$dropin" ]]; then install -D -m 0644 "$dropin" "$dir/etc/systemd/system/camhost.service.d/lab.conf"; fi
    # A debug build links the Swift runtime from the toolchain; the release build carries it.
    binds=()
    if readelf -d "$binary" | grep -q 'RUNPATH.*/opt/swift'; then binds+=(--bind-ro=/opt/swift); fi
    systemd-nspawn --quiet --register=no --keep-unit --boot --private-network --machine="camhost-$name" \
        "${binds[@]}" -D "$dir" > "$dir.log" 2>&1 < /dev/null &
    echo $! > "$dir.pid"
    for _ in $(seq 1 200); do
        leader="$(pgrep -P "$(cat "$dir.pid")" | head -n 1 || true)"
        if [[ -n "$leader" ]]; then
            state="$(nsenter -t "$leader" -a systemctl is-system-running 2>/dev/null || true)"
            case "$state" in running|degraded) echo "$leader"; exit 0 ;; esac
        fi
        kill -0 "$(cat "$dir.pid")" 2>/dev/null || { echo "nspawn-lab: the container stopped; see $dir.log" >&2; tail -n 20 "$dir.log" >&2; exit 70; }
        sleep 0.1
    done
    echo "nspawn-lab: the container did not finish booting in 20 s; see $dir.log" >&2
    exit 70
    ;;
exec)
    need_root
    name="${2:?usage: exec NAME COMMAND...}"
    shift 2
    exec nsenter -t "$(leader_of "$name")" -a "$@"
    ;;
down)
    need_root
    name="${2:?usage: down NAME}"
    dir="$labs/camhost-nspawn-$name"
    if [[ -r "$dir.pid" ]]; then
        pid="$(cat "$dir.pid")"
        kill -TERM "$pid" 2>/dev/null || true     # nspawn powers the container off in order
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir" "$dir.pid" "$dir.log"
    ;;
*)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 64
    ;;
esac
