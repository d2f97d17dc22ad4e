#!/usr/bin/env bash
# Native against oneDNN, convolution by convolution, inside the whole graph: runs
# `poet bench --per_layer --against` RUNS times, each call building the graph on both backends
# and alternating their runs (ABBA) for SECONDS, so that the shared machine's drift from one
# moment to the next hits both alike, and each backend built first in every other call; takes
# each layer's median over the calls, and counts the layers where native is faster. Every layer
# is split over the threads (--branches off): a layer run beside another branch, on one
# thread, has no oneDNN counterpart.
# docs/PERFORMANCE.md's layer counts come from it.
#   scripts/layers_vs_onednn.sh THREADS [RUNS (default 4)] [SECONDS (default 6)]
# on the Inception v3 replica at batch 1 (made by scripts/bench.sh, or here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:?usage: scripts/layers_vs_onednn.sh THREADS [RUNS] [SECONDS]}
runs=${2:-4}
secs=${3:-6}
out=${BENCH_OUT:-/tmp/poet-bench}
poet=${BUILD_DIR:-build}/cli/poet
graph=$out/inception_v3.pb
mkdir -p "$out/layers"
rm -f "$out/layers/t$threads-"*.txt  # a longer earlier run's files would join the medians
scripts/build.sh "${BUILD_DIR:-build}" >/dev/null
[ -f "$graph" ] || $poet make-replica inception_v3 "$graph" >/dev/null
export OMP_WAIT_POLICY=passive  # oneDNN's OpenMP threads sleep between regions (engine.h)
for i in $(seq "$runs"); do
  first=native second=onednn
  [ $((i % 2)) = 0 ] && first=onednn second=native
  $poet bench --graph "$graph" --input_layer Mul:0 --fetch pool_3/_reshape:0 \
    --input_shape 299,299,3 --batch 1 --threads "$threads" --seconds "$secs" --per_layer \
    --backend "$first" --against "$second" --branches off >"$out/layers/t$threads-$i.txt"
done
python3 - "$out/layers" "$threads" <<'PY'
import glob, statistics, sys
folder, threads = sys.argv[1], sys.argv[2]
times = {}  # backend -> layer -> [ms]
for path in glob.glob(f"{folder}/t{threads}-*.txt"):
    cols = None  # backend -> column of its times, from the table's header
    for line in open(path):
        f = line.split()
        if f[:1] == ["layer"]:
            named = [f[i] for i in range(3, len(f) - 1) if f[i + 1] == "ms"]
            cols = {backend: 3 + k for k, backend in enumerate(named)}
        elif cols and len(f) == 6 and "Conv2D" in f[1] and "-" not in f[3:5]:
            for backend, col in cols.items():
                times.setdefault(backend, {}).setdefault(f[0], []).append(float(f[col]))
med = {b: {n: statistics.median(v) for n, v in t.items()} for b, t in times.items()}
layers = sorted(set(med["native"]) & set(med["onednn"]))
ratios = sorted(med["onednn"][n] / med["native"][n] for n in layers)
wins = sum(r > 1 for r in ratios)
share = wins / len(layers)
print(f"threads {threads}: native faster on {wins} of {len(layers)} convolutions "
      f"({100 * share:.1f}%; the goal, 80%, {'met' if share >= 0.8 else 'not met'}); "
      f"oneDNN/native time min {ratios[0]:.2f} median {statistics.median(ratios):.2f} "
      f"max {ratios[-1]:.2f}")
# Medians of a few runs on a shared host move by a percent or two: a layer within 2% either way
# may change sides from one count to the next.
level = sum(abs(r - 1) <= 0.02 for r in ratios)
print(f"within 2% either way: {level} layers ({sum(1 < r <= 1.02 for r in ratios)} of them counted "
      f"for native)")
for n in layers:
    if med["native"][n] >= med["onednn"][n]:
        behind = med["native"][n] / med["onednn"][n] - 1
        print(f"  oneDNN faster: {n}: native {med['native'][n]:.3f} ms, oneDNN "
              f"{med['onednn'][n]:.3f} ({100 * behind:.1f}% behind)")
PY
