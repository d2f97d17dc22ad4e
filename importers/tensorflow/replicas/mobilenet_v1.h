// MobileNet v1 in the layout of TensorFlow's frozen mobilenet_v1_<depth>_<res> graphs (2017,
// slim's mobilenet_v1.py frozen by freeze_graph): `input` [1,res,res,3], per layer the weights
// with their `/read` Identity, the convolution, batch norm unfused into Add/Rsqrt/Mul/Sub
// arithmetic, Relu6; then AvgPool, Dropout Identity, the 1x1 logits convolution with BiasAdd,
// SpatialSqueeze, `MobilenetV1/Predictions/Reshape` (logits) and `.../Reshape_1` (softmax).
#pragma once

#include "importers/tensorflow/replicas/inception_v3.h"

namespace poet::tf::replicas {

// The input sides a replica may have. Above 256 the last feature map is over 8x8, and slim's
// 7x7 stride-2 AvgPool leaves more than one position, which the logits' SpatialSqueeze refuses
// (in TensorFlow too).
constexpr int kMobileNetMinResolution = 32, kMobileNetMaxResolution = 256;

// depth_multiplier is one of 1.0, 0.75, 0.5, 0.25 (any value in (0, 1] is accepted);
// resolution is the input's height and width (224, 192, 160, 128 in the releases; any in
// kMobileNetMinResolution..kMobileNetMaxResolution).
// Weights requested: `MobilenetV1/Conv2d_0/weights`, `MobilenetV1/Conv2d_<i>_depthwise/
// depthwise_weights`, `MobilenetV1/Conv2d_<i>_pointwise/weights`, each layer's
// `.../BatchNorm/{beta,gamma,moving_mean,moving_variance}`, and
// `MobilenetV1/Logits/Conv2d_1c_1x1/{weights,biases}` (1001 classes).
Replica mobilenet_v1(double depth_multiplier, int resolution, const WeightSource& weights);

}  // namespace poet::tf::replicas
