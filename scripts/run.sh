#!/usr/bin/env bash
# Sets up a fresh Debian machine and runs camhost on embedded defaults:
# data under ./var, HTTPS on https://127.0.0.1:5000, a managed Mosquitto on 127.0.0.1:18830.
# Extra arguments go to `camhost serve` (e.g. --demo, --listen 0.0.0.0:5000).
set -euo pipefail
cd "$(dirname "$0")/.."
# serve --demo streams real H.264 from its simulated cameras: ffmpeg makes the video.
if [[ " $* " == *" --demo "* ]]; then scripts/install-deps.sh --demo; else scripts/install-deps.sh; fi
echo "run: building a release binary (the first build takes a few minutes)" >&2
binary="$(scripts/build-release.sh)"
exec "$binary" serve "$@"
