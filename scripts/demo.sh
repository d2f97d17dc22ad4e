#!/usr/bin/env bash
# The README's main example, end to end: install dependencies, build, retrain MobileNet v1
# 0.25 (128x128) on the 22-class fruits dataset, then label a few held-out test images and a
# photo of something else. Everything is written under out/demo/ (bottleneck cache, graph,
# labels, TensorBoard summaries, confusion matrix). Run it twice: the second run reuses every
# cached bottleneck. About a minute on 2 cores.
# usage: scripts/demo.sh [--how_many_training_steps N ...extra poet retrain flags]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fixtures=../shared/fixtures
out=out/demo

"$root/scripts/build.sh" "$root/build"
poet=build/cli/poet

start=$(date +%s)
# The image_dir spelling decides the train/validation/test split (retrain.py hashes the path),
# so the labelled images below are from the test set only when it is given exactly like this.
"$poet" retrain \
  --image_dir "$fixtures/fruits" \
  --architecture mobilenet_0.25_128 \
  --graph "$fixtures/mobilenet_v1_0.25_128/frozen_graph.pb" \
  --bottleneck_dir "$out/bottlenecks" \
  --output_graph "$out/retrained_graph.pb" \
  --output_labels "$out/retrained_labels.txt" \
  --summaries_dir "$out/summaries" \
  --intermediate_output_graphs_dir "$out/intermediate/" \
  --random_seed 1 \
  "$@"

for image in \
  "$fixtures/fruits/apple_granny_smith/197_100.jpg" \
  "$fixtures/fruits/lemon/178_100.jpg" \
  "$fixtures/fruits/orange/129_100.jpg" \
  "$fixtures/fruits/pear_williams/151_100.jpg" \
  "$fixtures/images/panda.jpg"; do
  echo
  echo "== poet label $image"
  "$poet" label \
    --graph "$out/retrained_graph.pb" \
    --labels "$out/retrained_labels.txt" \
    --input_height 128 --input_width 128 --input_mean 127.5 --input_std 127.5 \
    --top_k 3 \
    --image "$image"
done
echo
echo "demo: retrain + label took $(($(date +%s) - start)) s; outputs in $out/"
echo "TensorBoard: tensorboard --logdir $out/summaries"
