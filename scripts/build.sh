#!/usr/bin/env bash
# Installs dependencies (if missing) and builds poet in Release (with assertions).
# usage: scripts/build.sh [BUILD_DIR] [extra cmake -D options...]
#        scripts/build.sh --sanitize
#        scripts/build.sh --tsan
#   --sanitize: the checking build in build-asan/: clang, AddressSanitizer + UBSan, and
#   libFuzzer's coverage, so one build serves the sanitized tests (test.sh) and the fuzz
#   targets (fuzz.sh).
#   --tsan: clang with ThreadSanitizer in build-tsan/, run by hand (docs/DEVELOPING.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ "${1:-}" == --sanitize ]]; then
  set -- "$root/build-asan" -DCMAKE_CXX_COMPILER=clang++ -DPOET_FUZZ=ON -DPOET_BUILD_BENCH=OFF
elif [[ "${1:-}" == --tsan ]]; then
  set -- "$root/build-tsan" -DCMAKE_CXX_COMPILER=clang++ -DPOET_TSAN=ON -DPOET_BUILD_BENCH=OFF
fi
build=${1:-$root/build}
shift || true
"$root/scripts/install-deps.sh"
# ccache (installed by install-deps) keys on paths relative to the checkout, so a fresh clone
# reuses what an earlier build compiled, but for the test files: their flags and precompiled
# header name the clone's own paths. The sloppiness lets a rebuild in the same checkout reuse
# them with their precompiled header (tests/CMakeLists.txt).
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}
# Ninja for a new build directory (it schedules the two cores better than make); a directory
# configured earlier keeps its generator.
generator=()
[[ -f "$build/CMakeCache.txt" ]] || generator=(-G Ninja)
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
