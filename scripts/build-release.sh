#!/usr/bin/env bash
# Builds the binary camhost ships and prints its path (every script that runs or measures the
# release binary builds it here, one way):
# - release, the Swift runtime linked statically, optimised for size (-Osize);
# - each function in a section of its own (-function-sections), also in the packages we depend
#   on, so the release link (Package.swift) can garbage-collect unused functions one by one and
#   place the code `serve` runs together at the start (scripts/link/order.ld, docs/footprint.md).
# Built in .build-release, apart from the tests' .build: the Swift driver does not recompile
# objects when only -Xfrontend flags change, so a release build made without them would stay.
# Extra arguments go to `swift build` (e.g. -Xlinker -Map=FILE).
#   scripts/build-release.sh [swift build arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
flags=(-c release --scratch-path .build-release --static-swift-stdlib -Xswiftc -Osize -Xswiftc -Xfrontend -Xswiftc -function-sections "$@")
# The link reads scripts/link/order.ld, but SwiftPM does not relink when only that file changed.
bin_dir="$(swift build "${flags[@]}" --show-bin-path)"
if [[ -e "$bin_dir/camhost" && scripts/link/order.ld -nt "$bin_dir/camhost" ]]; then rm -f "$bin_dir/camhost"; fi
set +e
swift build "${flags[@]}" > >(grep -vE '^\[[0-9]+/[0-9]+\]|^Building for|^Compiling|^Write|^Planning|dangerous, better use|Data\+Writing\.swift\.o\): in function' >&2) 2>&1
status=$?
set -e
if [[ $status -ne 0 || ! -x "$bin_dir/camhost" ]]; then
    echo "build-release: the build failed (swift build exit $status); see the messages above" >&2
    exit 1
fi
echo "$bin_dir/camhost"
