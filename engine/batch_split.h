// Whether a graph treats each image of a batch on its own, so that a batch can be cut into
// slices along dimension 0, run slice by slice, and the fetches joined back (the executor's
// batch split). Decided from the ops and the shapes known at load; anything not known to keep
// images apart (a Mean over the batch, a Reshape that merges it, an op not listed) says no.
#pragma once

#include <limits>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/op.h"

namespace poet {

struct PerImagePlan {
  // Empty when the graph is per image; otherwise why not, naming the node.
  std::string blocker;
  // Reshapes whose constant target spells the load-time batch ([32,1001]), by node: the same
  // target with -1 there, which a slice of any size needs instead.
  std::map<int, Tensor> slice_shapes;

  // The grouped tail: where an image has shrunk and the weights have not (MobileNet v1 1.0's
  // last 7x7 layers: 200 KB of activations per image, 10 MB of weights), one image at a time
  // would stream every weight once per image. So the steps from `tail_step` on run over
  // groups of up to kTailGroup images, joined from the images' `tail_inputs` (the tensors those
  // steps read, or the caller fetches, that come from the feeds or from earlier steps).
  // With no grouped tail, tail_step is past the last step.
  static constexpr int64_t kTailGroup = 8;
  size_t tail_step = std::numeric_limits<size_t>::max();
  std::vector<Endpoint> tail_inputs;
};

// `steps` are the nodes computed at run time in order, `infos` the load-time outputs of every
// node (values for constants), `feed_nodes` the fed placeholders (dimension 0 is the batch).
PerImagePlan plan_per_image(const Graph& graph, std::span<const int> steps,
                            const std::vector<std::vector<TensorInfo>>& infos,
                            std::span<const int> feed_nodes, std::span<const Endpoint> fetches);

// The grouped tail's rule: of the last steps whose every output takes at most
// kTailImageBytes per image, those from the first whose weights (constant inputs) outweigh
// its output per image; when they read at least kTailWeightBytes of weights, more than an L2
// holds, which one image at a time would read from L3 or memory for each image. Measured on
// the Zen 5 host, MobileNet v1 1.0 at batch 32: its last two pointwise layers and the logits
// over groups of 8 images (the logits' 4 MB of weights had been read at ~23 GB/s for each
// image, 2.5% of the time) ran the whole graph 4.7% faster on one thread, 2-4% on two;
// MobileNet v1 0.25_128 (1.9 MB of weights in all) level.
inline constexpr int64_t kTailImageBytes = 256 * 1024;
inline constexpr int64_t kTailWeightBytes = 1024 * 1024;

}  // namespace poet
