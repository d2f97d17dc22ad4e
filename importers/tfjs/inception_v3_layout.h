// A Keras InceptionV3 saved as a TF.js layers model, written into the node layout of Google's
// 2015 classify_image_graph_def.pb (importers/tensorflow/replicas/inception_v3.h). Which Keras
// layer fills which 2015 scope is worked out from the structure of both graphs (what each
// convolution reads, kernel shapes, strides, padding), never from layer names alone, and every
// shape is checked. docs/INCEPTION_V3.md ("Trained weights from TF.js") lists the differences.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "importers/tensorflow/replicas/inception_v3.h"

namespace poet::tfjs {

// One 2015 scope and the Keras layers whose weights it holds.
struct ScopeMapping {
  std::string scope;       // "mixed_4/tower_1/conv_2", "dense_1", "softmax"
  std::string conv;        // "conv2d_42" (the Dense layer for a dense scope)
  std::string batch_norm;  // "batch_normalization_42" ("" for a dense scope)
};

struct InceptionLayout {
  tf::replicas::Replica replica;
  std::vector<ScopeMapping> mapping;  // in the 2015 graph's order
};

// The JPEG pipeline computes (pixel - input_mean) * input_scale into `Mul`.
InceptionLayout inception_v3_2015_layout(const std::filesystem::path& model_json, float input_mean,
                                         float input_scale);

}  // namespace poet::tfjs
