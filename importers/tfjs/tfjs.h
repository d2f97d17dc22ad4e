// TensorFlow.js layers models (model.json + binary weight shards) -> poet::Graph.
//
// The Keras topology becomes TensorFlow ops (Conv2D, FusedBatchNormV3, Relu, MatMul, ...), so
// every backend and command works on it as on a GraphDef. Each layer's output is the node
// named after the layer ("flatten_1", "dense_3"); its internals are "<layer>/<Op>".
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/graph.h"

namespace poet::tfjs {

// The weights of a model.json's manifest, by name ("conv2d_1/kernel"), dequantized to float32.
std::map<std::string, Tensor> load_weights(const std::filesystem::path& model_json);

// model.json and the shard files its manifest names: every file a conversion reads.
std::vector<std::filesystem::path> model_files(const std::filesystem::path& model_json);

// Reads model.json and its shards. Errors name the file, layer or weight at fault.
Graph load_model(const std::filesystem::path& model_json);

// The names of the model's input and output layers, in order.
struct ModelSignature {
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
};
ModelSignature read_signature(const std::filesystem::path& model_json);

}  // namespace poet::tfjs
