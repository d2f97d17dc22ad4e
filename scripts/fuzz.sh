#!/usr/bin/env bash
# Runs one libFuzzer target, or each in turn, for SECONDS with bounded memory and time per
# input. The targets live in the checking build (scripts/build.sh --sanitize: clang,
# AddressSanitizer + UBSan), which scripts/test.sh also uses; CI runs `fuzz.sh all 10`.
# usage: scripts/fuzz.sh TARGET|all SECONDS [extra libFuzzer flags...]
#   targets: the tests/fuzz/<target>_fuzz.cc files (graphdef, pbtxt, tfjs, npy, tfrecord, jpeg,
#   png, labels, bottleneck)
# Corpora: tests/fuzz/corpus/<target>/ (small hand-made seeds) is grown in place under
# build-asan/fuzz/corpus/<target>/; the shared fixtures are read as extra seed directories.
# New crashes go to build-asan/fuzz/crashes/<target>/. Exit status 1 when a target crashed.
# One process, one job (libFuzzer's default): the machine is shared; do not add -jobs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-asan
out=$build/fuzz
fixtures=${POET_FIXTURES_DIR:-$root/../shared/fixtures}

if (($# < 2)); then
  echo "usage: scripts/fuzz.sh TARGET|all SECONDS [libFuzzer flags...]" >&2
  exit 2
fi
target=$1
seconds=$2
shift 2

all_targets=()
for f in "$root"/tests/fuzz/*_fuzz.cc; do
  name=$(basename "$f" _fuzz.cc)
  all_targets+=("$name")
done

if [[ "$target" == all ]]; then
  targets=("${all_targets[@]}")
elif [[ -f "$root/tests/fuzz/${target}_fuzz.cc" ]]; then
  targets=("$target")
else
  echo "fuzz: no target '$target' (have: ${all_targets[*]})" >&2
  exit 2
fi
"$root/scripts/build.sh" --sanitize

# Seed directories from the shared fixtures, per target (read only; never copied).
fixture_seeds() {
  case "$1" in
    graphdef) echo "$fixtures/mobilenet_v1_0.25_128 $fixtures/poets_retrained" ;;
    pbtxt) echo "$fixtures/imagenet" ;;
    # The bad model.json files of the error table (tests/bad_inputs/tfjs_*.json) among the rest;
    # the fixture model.json names shards the target does not have.
    tfjs) echo "$root/tests/bad_inputs" ;;
    npy) echo "$fixtures/reference/mobilenet_v1_0.25_128" ;;
    tfrecord) echo "$fixtures/tensorboard" ;;
    # The 100x100 fruit photos: the large photos in images/ decode 30x slower per execution
    # and reach no other decoder path.
    jpeg) echo "$fixtures/fruits/lemon" ;;
    png) echo "" ;;
    labels) echo "" ;;  # the fixture label files are large; tests/fuzz/corpus/labels suffices
    bottleneck) echo "" ;;
  esac
}

status=0
for t in "${targets[@]}"; do
  corpus=$out/corpus/$t
  crashes=$out/crashes/$t
  mkdir -p "$corpus" "$crashes"
  seeds=()
  [[ -d "$root/tests/fuzz/corpus/$t" ]] && seeds+=("$root/tests/fuzz/corpus/$t")
  for d in $(fixture_seeds "$t"); do
    [[ -d "$d" ]] && seeds+=("$d")
  done
  dict=()
  [[ -f "$root/tests/fuzz/$t.dict" ]] && dict=(-dict="$root/tests/fuzz/$t.dict")
  echo "fuzz: $t for ${seconds}s (seeds: ${seeds[*]:-none})" >&2
  # Inputs are capped at 64 KiB: larger seeds (the fixture graphs) are read truncated.
  # The full log goes to build-asan/fuzz/<target>.log; the terminal gets the summary lines.
  "$build/tests/fuzz/${t}_fuzz" "$corpus" "${seeds[@]}" "${dict[@]}" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$crashes/" "$@" \
    >"$out/$t.log" 2>&1 && rc=0 || rc=$?
  grep -E "DONE|^==[0-9]+==ERROR|SUMMARY|Test unit written|stat::(number_of_executed|peak)" \
    "$out/$t.log" >&2 || true
  # libFuzzer exits non-zero on a crash, leak, timeout or out-of-memory (UBSan reports are
  # fatal here: -fno-sanitize-recover).
  if ((rc != 0)); then
    echo "fuzz: $t failed (exit $rc); see $out/$t.log and $crashes/" >&2
    status=1
  fi
done
exit $status
