// The normalisation a graph applies to its own decoded image, read from its constants, so the
// image poet feeds past it (retrain.py feeds Inception v3 at `Mul:0`, after the graph's
// `Sub` and `Mul`) is normalised exactly as the graph would. Google's 2015 Inception v3 holds
// Sub/y = 128, Mul/y = 1/128 (retrain.py's preset); `poet convert --layout inception_v3_2015`
// writes the TF.js model's own 0 and 1/255 there, for which the preset would be wrong.
#pragma once

#include <optional>
#include <string>

#include "engine/graph.h"
#include "engine/image_input.h"

namespace poet::trainer {

struct GraphNormalisation {
  float mean = 0;   // the Sub's scalar constant
  float scale = 1;  // the Mul's scalar constant
  float std = 1;    // 1 / scale, as ImageInputSpec takes it (see std_for_scale)
};

// When `input_tensor` ("Mul:0") is the output of a Mul of (Sub(x, scalar Const), scalar
// Const) -- in either operand order -- those constants; otherwise nothing.
std::optional<GraphNormalisation> read_graph_normalisation(const Graph& graph,
                                                           const std::string& input_tensor);

// The float std for which ImageInputSpec's float(1.0 / std) equals `scale` exactly (so poet's
// preprocessing multiplies by the graph's own constant), or the nearest when none does.
float std_for_scale(float scale);

}  // namespace poet::trainer
