#!/usr/bin/env bash
# The test command: installs dependencies, builds, and runs every test suite (the fast ones
# and, once, the slow end-to-end ones) in the Release build; then, in the checking build
# (clang, AddressSanitizer + UndefinedBehaviorSanitizer), the fast suites again and each fuzz
# target for a short while.
# usage: scripts/test.sh [--no-sanitizers] [FUZZ_SECONDS (default 10)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
sanitize=1
if [[ "${1:-}" == --no-sanitizers ]]; then
  sanitize=0
  shift
fi
fuzz_seconds=${1:-10}

"$root/scripts/build.sh" "$root/build"
ctest --test-dir "$root/build" --output-on-failure -j"$jobs"

if ((sanitize)); then
  "$root/scripts/build.sh" --sanitize
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$root/build-asan" --output-on-failure -L fast -j"$jobs"
  "$root/scripts/fuzz.sh" all "$fuzz_seconds"
fi
