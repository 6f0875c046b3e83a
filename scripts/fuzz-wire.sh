#!/usr/bin/env bash
# Fuzzes Wire's decoders with libFuzzer and AddressSanitizer for a bounded time.
#
#   scripts/fuzz-wire.sh            # 60 seconds
#   scripts/fuzz-wire.sh 600        # ten minutes
#   WIRE_FUZZ_DIR=/tmp/x scripts/fuzz-wire.sh 20
#
# Compiles Sources/Wire/*.swift with Tests/WireFuzz/FuzzWire.swift as one module (no SwiftPM, so
# it never touches .build), seeds a corpus from Tests/WireFuzz/seeds (packets, and SDP texts named
# sdp-*), uses Tests/WireFuzz/sdp.dict for the SDP line types, and exits non-zero on a crash or a
# failed SDP round trip; libFuzzer leaves the crashing input as crash-* in the work directory.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
work=${WIRE_FUZZ_DIR:-/tmp/wire-fuzz}

mkdir -p "$work/corpus"
cp "$root"/Tests/WireFuzz/seeds/* "$work/corpus/"

swiftc -sanitize=fuzzer,address -parse-as-library -O -g \
    -module-name WireFuzz \
    "$root"/Sources/Wire/*.swift "$root"/Tests/WireFuzz/FuzzWire.swift \
    -o "$work/fuzz-wire"

cd "$work"
exec ./fuzz-wire -max_total_time="$seconds" -max_len=2048 -dict="$root/Tests/WireFuzz/sdp.dict" -print_final_stats=1 corpus
