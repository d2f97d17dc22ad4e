#!/usr/bin/env bash
# The measurements behind docs/PERFORMANCE.md: builds Release with benchmarks, then for each
# graph runs poet bench (native and oneDNN, 1 and 2 threads) and the peers
# (../shared/bench/peers.sh: ONNX Runtime, OpenCV DNN) back to back, and prints one table.
# The machine is shared: compare ratios from one run, and note the load average printed.
# Each case ends with BENCH_PAIRS (default 3) alternations of poet on 2 threads and the
# peers: the median of those pairs' ratios to ONNX Runtime is the reading the host's
# minute-to-minute swings move least.
#   scripts/bench.sh [SECONDS]        (default 5 per measurement)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
fx=../shared/fixtures
peers=../shared/bench/peers.sh
out=${BENCH_OUT:-/tmp/poet-bench}
mkdir -p "$out"

scripts/install-deps.sh
export CCACHE_BASEDIR=$(cd .. && pwd)
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPOET_BUILD_BENCH=ON >/dev/null
cmake --build "$build" --target poet conv2d_bench -j2 >/dev/null
poet=$build/cli/poet
# oneDNN's OpenMP threads must sleep between regions on shared cores (kernels/onednn/engine.h).
export OMP_WAIT_POLICY=passive

[ -f "$out/mobilenet_v1_1.0_224.pb" ] || $poet make-replica mobilenet_v1 1.0 224 "$out/mobilenet_v1_1.0_224.pb" >/dev/null
[ -f "$out/inception_v3.pb" ] || $poet make-replica inception_v3 "$out/inception_v3.pb" >/dev/null

# name | graph | input | fetch | size | batch   (the replica's pool_3/_reshape is fixed at
# [1,2048], so batch 32 fetches pool_3, the same values, which the peers' converted graphs
# also take at batch 32; poet bench alone would build it for one image)
mb=MobilenetV1/Predictions/Reshape:0
cases=(
  "mobilenet_0.25_128|$fx/mobilenet_v1_0.25_128/frozen_graph.pb|input:0|$mb|128|1"
  "mobilenet_0.25_128|$fx/mobilenet_v1_0.25_128/frozen_graph.pb|input:0|$mb|128|32"
  "mobilenet_1.0_224|$out/mobilenet_v1_1.0_224.pb|input:0|$mb|224|1"
  "mobilenet_1.0_224|$out/mobilenet_v1_1.0_224.pb|input:0|$mb|224|32"
  "inception_v3_replica|$out/inception_v3.pb|Mul:0|pool_3/_reshape:0|299|1"
  "inception_v3_replica|$out/inception_v3.pb|Mul:0|pool_3:0|299|32"
  "inception_v3_tfjs|$fx/inception_v3_tfjs/model.json|input_1|flatten_1|299|1"
  "inception_v3_tfjs|$fx/inception_v3_tfjs/model.json|input_1|flatten_1|299|32"
)
only=${BENCH_ONLY:-}  # e.g. BENCH_ONLY=inception to run a subset
pairs=${BENCH_PAIRS:-3}

ips() { awk '/^images\/s:/ {print $2}' "$1"; }
rss() { awk '/^peak RSS:/ {print $3}' "$1"; }
# The peers on the current case's graph, into file $1.
run_peers() {
  case "$graph" in
    *.json) $peers "$graph" - "$fetch" "$size" "$size" "$batch" "$secs" >"$1" 2>&1 || true ;;
    *) $peers "$graph" "$input" "$fetch" "$size" "$size" "$batch" "$secs" >"$1" 2>&1 || true ;;
  esac
}

printf '%-22s %5s %3s %10s %10s %10s %10s %9s %9s %s\n' graph batch thr native onednn ort opencv native/ort rss_MB load
for c in "${cases[@]}"; do
  IFS='|' read -r name graph input fetch size batch <<<"$c"
  [[ -z "$only" || "$name" == *"$only"* ]] || continue
  [ -f "$graph" ] || { echo "skip $name: $graph missing" >&2; continue; }
  pb=(--graph "$graph" --input_layer "$input" --fetch "$fetch" --batch "$batch" --seconds "$secs"
      --input_shape "$size,$size,3")
  load=$(cut -d' ' -f1 /proc/loadavg)
  for thr in 1 2; do
    $poet bench "${pb[@]}" --threads "$thr" --per_layer >"$out/$name-b$batch-t$thr-native.txt"
    $poet bench "${pb[@]}" --threads "$thr" --per_layer --backend onednn \
      >"$out/$name-b$batch-t$thr-onednn.txt"
  done
  # Peers use both cores.
  run_peers "$out/$name-b$batch-peers.txt"
  # poet again after the peers: a drifting load shows as a gap between the two native runs.
  $poet bench "${pb[@]}" --threads 2 >"$out/$name-b$batch-t2-native-again.txt"
  # OpenCV cannot read graphs with DecodeJpeg (the Inception replica): its column stays empty.
  ort=$(awk '/^ort/ {print $NF}' "$out/$name-b$batch-peers.txt")
  cv=$(awk '/^opencv/ {print $NF}' "$out/$name-b$batch-peers.txt")
  for thr in 1 2; do
    n=$(ips "$out/$name-b$batch-t$thr-native.txt")
    o=$(ips "$out/$name-b$batch-t$thr-onednn.txt")
    p_ort=-; p_cv=-; ratio=-
    if [ "$thr" = 2 ]; then
      p_ort=${ort:--}; p_cv=${cv:--}
      [ -n "$ort" ] && ratio=$(awk -v a="$n" -v b="$ort" 'BEGIN{printf "%.2f", a/b}')
    fi
    printf '%-22s %5s %3s %10s %10s %10s %10s %9s %9s %s\n' "$name" "$batch" "$thr" "$n" "$o" \
      "$p_ort" "$p_cv" "$ratio" "$(rss "$out/$name-b$batch-t$thr-native.txt")" "$load"
  done
  echo "  (native 2 threads again after the peers: $(ips "$out/$name-b$batch-t2-native-again.txt"))"
  ratios=()
  for ((k = 1; k <= pairs; k++)); do
    f=$out/$name-b$batch-pair$k
    $poet bench "${pb[@]}" --threads 2 >"$f-native.txt"
    run_peers "$f-peers.txt"
    r=$(awk -v a="$(ips "$f-native.txt")" '/^ort/ && $NF > 0 {printf "%.2f", a / $NF}' "$f-peers.txt")
    ratios+=("${r:--}")
  done
  if ((pairs > 0)); then
    median=$(printf '%s\n' "${ratios[@]}" | { grep -v '^-$' || true; } | sort -n |
      awk '{v[NR] = $1} END {if (NR) printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
    echo "  (native/ORT in $pairs alternated pairs: ${ratios[*]}; median ${median:--})"
  fi
done
