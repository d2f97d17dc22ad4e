// A structurally faithful replica of Inception v3 as released by Google in
// inception-2015-12-05.tgz (classify_image_graph_def.pb): the same node names, op types,
// attributes and tensor shapes, from the JPEG bytes in `DecodeJpeg/contents` to `softmax`
// (1008 classes) and the bottleneck `pool_3/_reshape` (2048). docs/INCEPTION_V3.md lists the
// layers and separates what is verified from public sources from what is assumed.
#pragma once

#include <vector>

#include "importers/tensorflow/replicas/graph_builder.h"

namespace poet::tf::replicas {

struct Replica {
  tensorflow::GraphDef graph_def;
  std::vector<LayerInfo> layers;  // convolutions, pools, joins and the classifier, in order
};

// Every weight comes from `weights`: per conv scope `<scope>/conv2d_params` (HWIO) and
// `<scope>/batchnorm/{beta,gamma,moving_mean,moving_variance}`; then `softmax/weights`
// [2048,1008] and `softmax/biases` [1008].
Replica inception_v3_2015(const WeightSource& weights);

}  // namespace poet::tf::replicas
