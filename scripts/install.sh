#!/usr/bin/env bash
# Installs camhost as a boot-time service on this machine (Debian 12 with systemd), or removes it.
# Idempotent: a second run changes nothing that is already right, and never overwrites the
# configuration, the data or the TLS files.
#
#   sudo scripts/install.sh                        # build the release binary, install, enable, start
#   sudo scripts/install.sh --binary PATH          # install a binary built elsewhere
#   sudo scripts/install.sh --no-start             # install and enable, do not start now
#   sudo scripts/install.sh --root DIR             # install into DIR (an image or a container root)
#   sudo scripts/install.sh --uninstall            # stop, disable, remove binary, unit, rules
#   sudo scripts/install.sh --uninstall --purge    # ... and /etc/camhost, /var/lib/camhost, the user
#
# What it puts where:
#   /usr/local/bin/camhost                      the binary
#   /usr/share/camhost/firmware-profiles/       the firmware profiles
#   /etc/camhost/camhost.toml                   the configuration (documented defaults; root:camhost 0640)
#   /var/lib/camhost                            data: database, TLS, recordings (camhost:camhost 0750)
#   /etc/systemd/system/camhost.service         the hardened unit (scripts/systemd/camhost.service)
#   /etc/polkit-1/rules.d/50-camhost.rules      lets the camhost user restart only the neighbours
#                                               it supervises (the unit's NoNewPrivileges rules out sudo)
set -euo pipefail
cd "$(dirname "$0")/.."

root=""
binary=""
start=1
uninstall=0
purge=0
neighbours=(mosquitto.service kurento-media-server.service coturn.service)
while [[ $# -gt 0 ]]; do
    case "$1" in
        --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
        --root) root="${2:?--root needs a directory}"; shift 2 ;;
        --no-start) start=0; shift ;;
        --uninstall) uninstall=1; shift ;;
        --purge) purge=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "install: unknown argument $1 (see --help)" >&2; exit 64 ;;
    esac
done
if [[ $(id -u) -ne 0 ]]; then echo "install: run as root (sudo $0 $*)" >&2; exit 77; fi

# systemctl only where systemd runs this machine (or the --root container is not the live system).
systemd_live=0
[[ -z "$root" && -d /run/systemd/system ]] && systemd_live=1
in_root() { if [[ -n "$root" ]]; then chroot "$root" "$@"; else "$@"; fi; }

bin_path="$root/usr/local/bin/camhost"
unit_path="$root/etc/systemd/system/camhost.service"
rule_path="$root/etc/polkit-1/rules.d/50-camhost.rules"
profiles_dir="$root/usr/share/camhost/firmware-profiles"

if [[ $uninstall -eq 1 ]]; then
    if [[ $systemd_live -eq 1 ]]; then
        systemctl disable --now camhost.service 2>/dev/null || true
    else
        rm -f "$root/etc/systemd/system/multi-user.target.wants/camhost.service"
    fi
    rm -f "$bin_path" "$unit_path" "$rule_path"
    rm -rf "$root/usr/share/camhost"
    [[ $systemd_live -eq 1 ]] && systemctl daemon-reload
    if [[ $purge -eq 1 ]]; then
        rm -rf "$root/etc/camhost" "$root/var/lib/camhost" "$root/var/log/camhost"
        in_root userdel camhost 2>/dev/null || true
        in_root groupdel camhost 2>/dev/null || true
    fi
    echo "install: camhost removed$([[ $purge -eq 1 ]] && echo ', with its configuration and data' || echo '; configuration and data kept (--purge removes them)')"
    exit 0
fi

if [[ -z "$binary" ]]; then
    scripts/install-deps.sh
    binary="$(scripts/build-release.sh)"
fi
[[ -x "$binary" ]] || { echo "install: $binary is not an executable" >&2; exit 66; }

# The system user and group; members of ssl-certs (scripts/setup-tls.sh) read shared keys.
if ! in_root getent group camhost >/dev/null; then in_root groupadd --system camhost; fi
if ! in_root getent passwd camhost >/dev/null; then
    in_root useradd --system --gid camhost --home-dir /var/lib/camhost --no-create-home \
        --shell /usr/sbin/nologin --comment "camhost camera host" camhost
fi
if in_root getent group ssl-certs >/dev/null; then in_root usermod -a -G ssl-certs camhost; fi

install -D -m 0755 "$binary" "$bin_path"
install -d -m 0755 "$profiles_dir"
install -m 0644 firmware-profiles/*.toml "$profiles_dir/"
install -d -m 0750 -o root -g "$(in_root getent group camhost | cut -d: -f3)" "$root/etc/camhost"
install -d -m 0750 -o "$(in_root id -u camhost)" -g "$(in_root id -g camhost)" "$root/var/lib/camhost" "$root/var/log/camhost"
if [[ ! -e "$root/etc/camhost/camhost.toml" ]]; then
    # Documented defaults with this host's paths; edit, then `camhost config check`.
    scripts/systemd/host-config.sh "$binary" > "$root/etc/camhost/camhost.toml"
    chgrp "$(in_root getent group camhost | cut -d: -f3)" "$root/etc/camhost/camhost.toml"
    chmod 0640 "$root/etc/camhost/camhost.toml"
fi

sed -e "s|^ExecStart=/usr/bin/camhost |ExecStart=/usr/local/bin/camhost |" scripts/systemd/camhost.service > "$unit_path.new"
chmod 0644 "$unit_path.new"
mv "$unit_path.new" "$unit_path"

install -d -m 0755 "$(dirname "$rule_path")"
{
    echo "// Installed by camhost's scripts/install.sh: the camhost service may restart the neighbours"
    echo "// it supervises (health.restart_command), and nothing else."
    echo "polkit.addRule(function(action, subject) {"
    echo "    var units = [$(printf '"%s", ' "${neighbours[@]}" | sed 's/, $//')];"
    echo "    if (action.id == \"org.freedesktop.systemd1.manage-units\" && subject.user == \"camhost\" &&"
    echo "        units.indexOf(action.lookup(\"unit\")) >= 0 &&"
    echo "        [\"restart\", \"try-restart\", \"reload-or-restart\"].indexOf(action.lookup(\"verb\")) >= 0) {"
    echo "        return polkit.Result.YES;"
    echo "    }"
    echo "});"
} > "$rule_path.new"
chmod 0644 "$rule_path.new"
mv "$rule_path.new" "$rule_path"

if [[ $systemd_live -eq 1 ]]; then
    systemctl daemon-reload
    systemctl enable camhost.service
    [[ $start -eq 1 ]] && systemctl restart camhost.service
    echo "install: camhost installed and $([[ $start -eq 1 ]] && echo started || echo enabled); status: systemctl status camhost"
else
    install -d -m 0755 "$root/etc/systemd/system/multi-user.target.wants"
    ln -sf /etc/systemd/system/camhost.service "$root/etc/systemd/system/multi-user.target.wants/camhost.service"
    echo "install: camhost installed and enabled${root:+ in $root}; systemd is not running here, so it starts at the next boot"
fi
