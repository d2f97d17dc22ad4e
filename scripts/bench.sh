#!/usr/bin/env bash
# The measurements behind docs/PERFORMANCE.md: builds Release with benchmarks, then for each
# graph runs poet bench (native and oneDNN, 1 and 2 threads) and the peers
# (../shared/bench/peers.sh: ONNX Runtime, OpenCV DNN) back to back, and prints one table.
# The machine is shared: compare ratios from one run, and note the load average printed.
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
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DPOET_BUILD_BENCH=ON >/dev/null
cmake --build build-release --target poet conv2d_bench -j2 >/dev/null
poet=build-release/cli/poet
# oneDNN's OpenMP threads must sleep between regions on shared cores (kernels/onednn/engine.h).
export OMP_WAIT_POLICY=passive

[ -f "$out/mobilenet_v1_1.0_224.pb" ] || $poet make-replica mobilenet_v1 1.0 224 "$out/mobilenet_v1_1.0_224.pb" >/dev/null
[ -f "$out/inception_v3.pb" ] || $poet make-replica inception_v3 "$out/inception_v3.pb" >/dev/null

# name | graph | input | poet fetch | peer fetch | size | batch
cases=(
  "mobilenet_0.25_128|$fx/mobilenet_v1_0.25_128/frozen_graph.pb|input:0|MobilenetV1/Predictions/Reshape:0|MobilenetV1/Predictions/Reshape:0|128|1"
  "mobilenet_0.25_128|$fx/mobilenet_v1_0.25_128/frozen_graph.pb|input:0|MobilenetV1/Predictions/Reshape:0|MobilenetV1/Predictions/Reshape:0|128|32"
  "mobilenet_1.0_224|$out/mobilenet_v1_1.0_224.pb|input:0|MobilenetV1/Predictions/Reshape:0|MobilenetV1/Predictions/Reshape:0|224|1"
  "inception_v3_replica|$out/inception_v3.pb|Mul:0|pool_3/_reshape:0|pool_3/_reshape:0|299|1"
  "inception_v3_replica|$out/inception_v3.pb|Mul:0|pool_3:0|pool_3:0|299|32"
  "inception_v3_tfjs|$fx/inception_v3_tfjs/model.json|input_1|flatten_1|flatten_1|299|1"
)

ips() { grep '^images/s:' "$1" | awk '{print $2}'; }
rss() { grep '^peak RSS:' "$1" | awk '{print $3}'; }

printf '%-22s %5s %3s %10s %10s %10s %10s %9s %9s %s\n' graph batch thr native onednn ort opencv native/ort rss_MB load
for c in "${cases[@]}"; do
  IFS='|' read -r name graph input fetch pfetch size batch <<<"$c"
  [ -f "$graph" ] || { echo "skip $name: $graph missing" >&2; continue; }
  load=$(cut -d' ' -f1 /proc/loadavg)
  for thr in 1 2; do
    $poet bench --graph "$graph" --input_layer "$input" --fetch "$fetch" --batch "$batch" \
      --threads "$thr" --seconds "$secs" >"$out/$name-b$batch-t$thr-native.txt"
    $poet bench --graph "$graph" --input_layer "$input" --fetch "$fetch" --batch "$batch" \
      --threads "$thr" --seconds "$secs" --backend onednn >"$out/$name-b$batch-t$thr-onednn.txt"
  done
  # Peers use both cores.
  case "$graph" in
    *.json) $peers "$graph" - "$pfetch" "$size" "$size" "$batch" "$secs" >"$out/$name-b$batch-peers.txt" 2>&1 || true ;;
    *) $peers "$graph" "$input" "$pfetch" "$size" "$size" "$batch" "$secs" >"$out/$name-b$batch-peers.txt" 2>&1 || true ;;
  esac
  # poet again after the peers: a drifting load shows as a gap between the two native runs.
  $poet bench --graph "$graph" --input_layer "$input" --fetch "$fetch" --batch "$batch" \
    --threads 2 --seconds "$secs" >"$out/$name-b$batch-t2-native-again.txt"
  ort=$(grep '^ort' "$out/$name-b$batch-peers.txt" | awk '{print $NF}')
  cv=$(grep '^opencv' "$out/$name-b$batch-peers.txt" | awk '{print $NF}')
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
done
