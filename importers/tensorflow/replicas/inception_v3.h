// A structurally faithful replica of Inception v3 as released by Google in
// inception-2015-12-05.tgz (classify_image_graph_def.pb): the same node names, op types,
// attributes and tensor shapes, from the JPEG bytes in `DecodeJpeg/contents` to `softmax`
// (1008 classes) and the bottleneck `pool_3/_reshape` (2048). docs/INCEPTION_V3.md lists the
// layers and separates what is verified from public sources from what is assumed.
#pragma once

#include <string>
#include <vector>

#include "importers/tensorflow/replicas/graph_builder.h"

namespace poet::tf::replicas {

struct Replica {
  tensorflow::GraphDef graph_def;
  std::vector<LayerInfo> layers;  // convolutions, pools, joins and the classifier, in order
};

// A fully connected ReLU layer between the bottleneck and the softmax.
struct HiddenLayer {
  std::string name;  // scope: <name>/weights, <name>/biases, <name>/MatMul, <name>/BiasAdd, <name>
  int64_t units = 0;
};

// Where a network with this body but other weights differs from the 2015 release. The
// defaults give the release.
struct InceptionV3Options {
  // The JPEG pipeline's `Sub/y` and `Mul/y`: the network sees (pixel - mean) * scale.
  float input_mean = 128.f;
  float input_scale = 1.f / 128.f;
  // The pool of mixed_10's tower_2: the release has MaxPool, Keras's InceptionV3 AvgPool.
  std::string mixed_10_pool = "MaxPool";
  // Layers after pool_3/_reshape and before softmax/logits (none in the release), and the
  // number of classes softmax scores.
  std::vector<HiddenLayer> hidden;
  int64_t classes = 1008;
};

// Every weight comes from `weights`: per conv scope `<scope>/conv2d_params` (HWIO) and
// `<scope>/batchnorm/{beta,gamma,moving_mean,moving_variance}`; then per hidden layer
// `<name>/weights` [in,units] and `<name>/biases`; then `softmax/weights` [in,classes] and
// `softmax/biases` [classes].
Replica inception_v3_2015(const WeightSource& weights, const InceptionV3Options& options = {});

}  // namespace poet::tf::replicas
