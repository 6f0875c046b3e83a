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
# The network-namespace lab needs root; elsewhere those tests say why they skip.
# Serial: the suites start real brokers, servers, GStreamer and captures; on 2 cores, running
# them all at once turns time limits in the tests into flakes.
swift test --skip-build --no-parallel "${scratch[@]}" "$@"
