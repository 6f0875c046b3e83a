#!/usr/bin/env bash
# Installs the Debian packages camhost needs to build, run and test. Idempotent: installs only
# what is missing, so a second run costs a second. Needs root (or sudo) on Debian 12.
#   scripts/install-deps.sh          # build + run
#   scripts/install-deps.sh --demo   # and ffmpeg, whose H.264 the demo's simulated cameras stream
#   scripts/install-deps.sh --test   # also the tools the tests use
#   scripts/install-deps.sh --bench  # and the tools the benchmarks compare against
set -euo pipefail

runtime=(pkg-config libmicrohttpd-dev libgnutls28-dev gnutls-bin libsqlite3-dev libmosquitto-dev
         libpcap-dev mosquitto mosquitto-clients util-linux iproute2 curl ca-certificates)
testing=(python3 python3-yaml python3-jsonschema python3-websockets sqlite3 jq tcpdump tshark gstreamer1.0-tools gstreamer1.0-plugins-base
         gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad chromium fonts-dejavu-core prometheus ffmpeg
         shellcheck lintian systemd-container debootstrap coturn testssl.sh)
benchmarks=(wrk nginx-light time hyperfine cron gunicorn python3-flask)

wanted=("${runtime[@]}")
for flag in "$@"; do
    case "$flag" in
        --demo) wanted+=(ffmpeg) ;;
        --test) wanted+=("${testing[@]}") ;;
        --bench) wanted+=("${testing[@]}" "${benchmarks[@]}") ;;
        *) echo "install-deps: unknown flag $flag (use --demo, --test or --bench)" >&2; exit 64 ;;
    esac
done

missing=()
for package in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
python_missing=()
if [[ " ${wanted[*]} " == *" python3-jsonschema "* ]] && command -v python3 >/dev/null; then
    # The OpenAPI check runs the `python3` on PATH, which may not be Debian's.
    python3 -c 'import jsonschema, yaml' 2>/dev/null || python_missing=(jsonschema pyyaml)
fi
if [[ ${#missing[@]} -eq 0 ]]; then
    [[ ${#python_missing[@]} -gt 0 ]] && python3 -m pip install --quiet "${python_missing[@]}"
    exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections 2>/dev/null || true
# Debian's policy-rc.d may refuse to start services at install time; camhost starts its own broker.
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [[ " ${wanted[*]} " == *" python3-jsonschema "* ]] && ! python3 -c 'import jsonschema, yaml' 2>/dev/null; then
    python3 -m pip install --quiet jsonschema pyyaml
fi
