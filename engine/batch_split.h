// Whether a graph treats each image of a batch on its own, so that a batch can be cut into
// slices along dimension 0, run slice by slice, and the fetches joined back (the executor's
// batch split). Decided from the ops and the shapes known at load; anything not known to keep
// images apart (a Mean over the batch, a Reshape that merges it, an op not listed) says no.
#pragma once

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
};

// `steps` are the nodes computed at run time in order, `infos` the load-time outputs of every
// node (values for constants), `feed_nodes` the fed placeholders (dimension 0 is the batch).
PerImagePlan plan_per_image(const Graph& graph, std::span<const int> steps,
                            const std::vector<std::vector<TensorInfo>>& infos,
                            std::span<const int> feed_nodes, std::span<const Endpoint> fetches);

}  // namespace poet
