#!/usr/bin/env bash
# Applies `camhost firewall plan` with ufw. A dry run unless --apply: it prints what it would do.
# It refuses to apply a plan that does not let in the SSH session it runs in, so it never cuts it.
#
#   scripts/configure-firewall.sh                                  # dry run: the commands, nothing changed
#   sudo scripts/configure-firewall.sh --apply                     # apply (installs ufw when missing)
#   scripts/configure-firewall.sh --config /etc/camhost/camhost.toml -- --mqtt-port 8883 --turn
#
# Arguments after -- go to `camhost firewall plan`. CAMHOST_BIN names the binary (default: camhost on PATH).
set -euo pipefail
apply=0
plan_args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --apply) apply=1; shift ;;
        --config) plan_args+=(--config "${2:?--config needs a file}"); shift 2 ;;
        --) shift; plan_args+=("$@"); break ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "configure-firewall: unknown argument $1 (see --help)" >&2; exit 64 ;;
    esac
done
camhost="${CAMHOST_BIN:-camhost}"
mapfile -t commands < <(env -u CAMHOST_BIN "$camhost" firewall plan "${plan_args[@]}" | grep -v '^#')
[[ ${#commands[@]} -gt 0 ]] || { echo "configure-firewall: the plan is empty (see camhost firewall plan)" >&2; exit 70; }

# The SSH session this runs in must be allowed before `enable`.
if [[ -n "${SSH_CONNECTION:-}" ]]; then
    ssh_port="${SSH_CONNECTION##* }"
    allowed=0
    for command in "${commands[@]}"; do
        [[ "$command" == "ufw --force enable" ]] && break
        [[ "$command" == "ufw limit $ssh_port/tcp"* || "$command" == "ufw allow $ssh_port/tcp"* ]] && allowed=1
    done
    if [[ $allowed -eq 0 ]]; then
        echo "configure-firewall: the plan does not allow SSH on port $ssh_port before enabling the firewall; refusing" >&2
        exit 70
    fi
fi

if [[ $apply -eq 0 ]]; then
    echo "# dry run: these commands would run (add --apply to run them)"
    printf '%s\n' "${commands[@]}"
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then echo "configure-firewall: --apply needs root" >&2; exit 77; fi
if ! command -v ufw >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ufw >/dev/null
fi
for command in "${commands[@]}"; do
    echo "+ $command"
    eval "$command"
done
ufw status verbose
