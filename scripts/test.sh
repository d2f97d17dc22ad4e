#!/usr/bin/env bash
# The test command: installs dependencies, builds, and runs every test suite (the fast ones
# and, once, the slow end-to-end ones) in the Release build, then the fast suites again under
# AddressSanitizer + UndefinedBehaviorSanitizer.
# usage: scripts/test.sh [--no-sanitizers]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

"$root/scripts/build.sh" "$root/build"
ctest --test-dir "$root/build" --output-on-failure -j"$jobs"

if [[ "${1:-}" != "--no-sanitizers" ]]; then
  "$root/scripts/build.sh" "$root/build-asan" -DPOET_SANITIZE=ON -DPOET_BUILD_BENCH=OFF
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$root/build-asan" --output-on-failure -L fast -j"$jobs"
fi
