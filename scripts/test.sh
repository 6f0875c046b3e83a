#!/usr/bin/env bash
# Installs what the tests need, builds, and runs the whole test suite (XCTest and Swift Testing).
# Tests start their own brokers, servers and network namespaces and remove them afterwards.
#   scripts/test.sh                  # everything
#   scripts/test.sh --filter Web     # forwarded to `swift test`
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
scratch=()
[[ -n "${CAMHOST_SCRATCH:-}" ]] && scratch=(--scratch-path "$CAMHOST_SCRATCH")
swift build --build-tests "${scratch[@]}"
# The shipped binary: the package test (lintian) and the systemd lab run it.
CAMHOST_RELEASE_BIN="$(scripts/build-release.sh)"
export CAMHOST_RELEASE_BIN
# A real systemd for the service tests, booted in systemd-nspawn from a cached Debian root.
if [[ $(id -u) -eq 0 ]]; then
    scripts/nspawn-lab.sh root || echo "test: no Debian root for the systemd lab (see above): the tests that boot systemd say they are skipped" >&2
fi
# The network-namespace lab needs root; elsewhere those tests say why they skip.
# Serial: the suites start real brokers, servers, GStreamer and captures; on 2 cores, running
# them all at once turns time limits in the tests into flakes.
swift test --skip-build --no-parallel "${scratch[@]}" "$@"
