// The retrained graph retrain.py writes (graph_util.convert_variables_to_constants of its
// training graph, pruned to the final tensor): every node the bottleneck needs, unchanged and
// in the original order, then the new layer with the node names, ops and attributes of a real
// retrain.py output (../shared/fixtures/poets_retrained/retrained_graph.pb):
//   input/BottleneckInputPlaceholder  PlaceholderWithDefault(bottleneck), shape [-1, size]
//                                     (the scope is "input_1" when the graph has a node
//                                     "input", as MobileNet does: TensorFlow's unique names)
//   final_training_ops/weights/final_weights       Const [size, classes]
//   final_training_ops/weights/final_weights/read  Identity, _class = loc:@<weights>
//   final_training_ops/biases/final_biases         Const [classes]
//   final_training_ops/biases/final_biases/read    Identity, _class = loc:@<biases>
//   final_training_ops/Wx_plus_b/MatMul            MatMul(placeholder, weights/read)
//   final_training_ops/Wx_plus_b/add               Add(MatMul, biases/read)
//   <final_tensor_name>                            Softmax(add)
#pragma once

#include <filesystem>
#include <string>

#include "engine/graph.h"

namespace poet::trainer {

struct RetrainedGraphSpec {
  std::string input_tensor;       // e.g. "input:0"; must feed the bottleneck
  std::string bottleneck_tensor;  // e.g. "MobilenetV1/Predictions/Reshape:0"
  std::string final_tensor_name = "final_result";
};

// Fails, naming --final_tensor_name, unless the retrained graph can hold its new nodes: the
// final name must be a TensorFlow node name (TF 1.x's rule, which label_image loads with), and
// neither it nor the new layer's names may be taken by a node the bottleneck keeps. The export
// checks this too; retrain checks it as soon as the graph loads, before any bottleneck.
void check_retrained_names(const Graph& original, const RetrainedGraphSpec& spec);

// weights: float32 [bottleneck size, classes]; biases: float32 [classes].
Graph build_retrained_graph(const Graph& original, const RetrainedGraphSpec& spec,
                            const Tensor& weights, const Tensor& biases);

// The graph build_retrained_graph makes for a layer of [bottleneck_size, classes], serialized
// for TensorBoard's Graphs tab (the train event file's graph_def): every tensor over 1 KB keeps
// only its dtype and shape. The graph view never shows a constant's values, and Inception v3's
// would put 90 MB into every event file (TensorBoard drops attributes over 1 KB itself).
std::string retrained_graph_summary(const Graph& original, const RetrainedGraphSpec& spec,
                                    int64_t bottleneck_size, int64_t classes);

// build_retrained_graph, written as a binary GraphDef (deterministic bytes, atomic write).
void write_retrained_graph(const Graph& original, const RetrainedGraphSpec& spec,
                           const Tensor& weights, const Tensor& biases,
                           const std::filesystem::path& output);

}  // namespace poet::trainer
