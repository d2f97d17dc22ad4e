#!/usr/bin/env bash
# ONNX Runtime's time per node, from its own profiler, to set beside `poet bench --per_layer`:
# runs the model that ../shared/bench/peers.sh converted (it must have run once for this graph
# and batch, leaving the .onnx in ~/.cache/poet-peers) RUNS times on all cores and prints each
# node's median kernel time, skipping the first 20 runs.
#   scripts/ort_layers.sh MODEL.onnx BATCH SIZE [RUNS (default 200)]
set -euo pipefail
model=${1:?usage: scripts/ort_layers.sh MODEL.onnx BATCH SIZE [RUNS]}
batch=${2:?batch}
size=${3:?input height and width}
runs=${4:-200}
cache=${HOME}/.cache/poet-peers
[ -d "$cache/node_modules/onnxruntime-node" ] || { echo "run ../shared/bench/peers.sh first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ORT_MODULE=$cache/node_modules/onnxruntime-node node - "$model" "$batch" "$size" "$runs" \
  "$(nproc)" "$tmp/prof" <<'JS'
const ort = require(process.env.ORT_MODULE);
const [model, b, size, runs, threads, prefix] = process.argv.slice(2);
(async () => {
  const s = await ort.InferenceSession.create(model, {intraOpNumThreads: +threads,
    interOpNumThreads: 1, graphOptimizationLevel: 'all', enableProfiling: true,
    profileFilePrefix: prefix});
  const x = new Float32Array(b * size * size * 3).map((_, i) => Math.sin(i) * 0.5);
  const feeds = {input: new ort.Tensor('float32', x, [+b, +size, +size, 3])};
  for (let i = 0; i < +runs; ++i) await s.run(feeds);
  s.endProfiling();
})();
JS
python3 - "$tmp" <<'PY'
import glob, json, statistics, sys
events = json.load(open(glob.glob(sys.argv[1] + "/prof*.json")[0]))
times = {}  # node -> (op, [us]) in the order first seen
for e in events:
    if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
        times.setdefault(e["name"][:-len("_kernel_time")], (e["args"].get("op_name"), []))[1].append(e["dur"])
total = 0
for name, (op, us) in times.items():
    median = statistics.median(us[20:] or us)
    total += median
    print(f"  {name:<40} {op:<16} {median / 1000:8.3f} ms")
print(f"sum of medians: {total / 1000:.3f} ms")
PY
