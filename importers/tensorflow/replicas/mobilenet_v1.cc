#include "importers/tensorflow/replicas/mobilenet_v1.h"

#include <algorithm>
#include <string>

#include "engine/error.h"

namespace poet::tf::replicas {
namespace {

using tensorflow::DT_FLOAT;
using tensorflow::DT_INT32;

constexpr int64_t kClasses = 1001;

struct Act {
  std::string name;
  Shape shape;
};

class MobileNetBuilder {
 public:
  MobileNetBuilder(double depth_multiplier, const WeightSource& weights)
      : multiplier_(depth_multiplier), weights_(weights) {}

  Act input(int64_t resolution);
  // kind: "" (Conv2d_0), "_depthwise" or "_pointwise".
  Act layer(int index, std::string_view kind, const Act& in, int64_t out_c, int64_t stride);
  void logits(const Act& in);
  Replica finish() { return {b_.release(), std::move(layers_)}; }

  // slim's depth(): channels scaled by the multiplier, at least 8.
  int64_t depth(int64_t d) const {
    return std::max<int64_t>(static_cast<int64_t>(static_cast<double>(d) * multiplier_), 8);
  }

 private:
  // A variable frozen to a Const, and its `/read` Identity as freeze_graph leaves it.
  std::string variable(const std::string& name, WeightRole role, const Shape& shape);
  Act batch_norm_relu6(const std::string& var_scope, const std::string& op_scope, const Act& x);

  double multiplier_;
  const WeightSource& weights_;
  GraphBuilder b_;
  std::vector<LayerInfo> layers_;
};

Act MobileNetBuilder::input(int64_t resolution) {
  auto& node = b_.add("input", "Placeholder");
  set_type(node, "dtype", DT_FLOAT);
  set_shape(node, "shape", {1, resolution, resolution, 3});
  return {"input", {1, resolution, resolution, 3}};
}

std::string MobileNetBuilder::variable(const std::string& name, WeightRole role,
                                       const Shape& shape) {
  b_.constant(name, request_weight(weights_, name, role, shape));
  auto& read = b_.add(name + "/read", "Identity", {name});
  set_type(read, "T", DT_FLOAT);
  set_strings(read, "_class", {"loc:@" + name});
  return name + "/read";
}

// Slim's unfused batch norm, frozen: y = x * (gamma * rsqrt(var + eps)) + (beta - mean * that).
Act MobileNetBuilder::batch_norm_relu6(const std::string& var_scope, const std::string& op_scope,
                                       const Act& x) {
  const int64_t c = x.shape[3];
  const std::string v = var_scope + "/BatchNorm/", o = op_scope + "/BatchNorm/batchnorm/";
  std::string beta = variable(v + "beta", WeightRole::kBnBeta, {c});
  std::string gamma = variable(v + "gamma", WeightRole::kBnGamma, {c});
  std::string mean = variable(v + "moving_mean", WeightRole::kBnMean, {c});
  std::string variance = variable(v + "moving_variance", WeightRole::kBnVariance, {c});
  b_.constant(o + "add/y", Tensor::scalar_float(0.001f));
  auto binary = [&](const char* name, const char* op, const std::string& a, const std::string& b) {
    set_type(b_.add(o + name, op, {a, b}), "T", DT_FLOAT);
    return o + name;
  };
  std::string add = binary("add", "Add", variance, o + "add/y");
  set_type(b_.add(o + "Rsqrt", "Rsqrt", {add}), "T", DT_FLOAT);
  std::string scale = binary("mul", "Mul", o + "Rsqrt", gamma);
  std::string scaled = binary("mul_1", "Mul", x.name, scale);
  std::string shifted_mean = binary("mul_2", "Mul", mean, scale);
  std::string offset = binary("sub", "Sub", beta, shifted_mean);
  std::string y = binary("add_1", "Add", scaled, offset);
  set_type(b_.add(op_scope + "/Relu6", "Relu6", {y}), "T", DT_FLOAT);
  return {op_scope + "/Relu6", x.shape};
}

Act MobileNetBuilder::layer(int index, std::string_view kind, const Act& in, int64_t out_c,
                            int64_t stride) {
  const std::string name = "Conv2d_" + std::to_string(index) + std::string(kind);
  const std::string var_scope = "MobilenetV1/" + name, op_scope = "MobilenetV1/MobilenetV1/" + name;
  const bool depthwise = kind == "_depthwise";
  const int64_t in_c = in.shape[3], k = kind == "_pointwise" ? 1 : 3;
  if (depthwise) out_c = in_c;

  std::string filter =
      depthwise ? variable(var_scope + "/depthwise_weights", WeightRole::kDepthwiseFilter,
                           {k, k, in_c, 1})
                : variable(var_scope + "/weights", WeightRole::kConvFilter, {k, k, in_c, out_c});
  const std::string conv_name = op_scope + (depthwise ? "/depthwise" : "/convolution");
  auto& conv = b_.add(conv_name, depthwise ? "DepthwiseConv2dNative" : "Conv2D", {in.name, filter});
  set_type(conv, "T", DT_FLOAT);
  set_s(conv, "data_format", "NHWC");
  set_s(conv, "padding", "SAME");
  set_ints(conv, "strides", {1, stride, stride, 1});
  if (!depthwise) set_b(conv, "use_cudnn_on_gpu", true);

  Shape out = {1, (in.shape[1] + stride - 1) / stride, (in.shape[2] + stride - 1) / stride, out_c};
  int64_t macs_per_pixel = depthwise ? k * k * in_c : k * k * in_c * out_c;
  layers_.push_back(
      {conv_name, conv.op(), k, k, stride, "SAME", out, 2 * out[1] * out[2] * macs_per_pixel});
  return batch_norm_relu6(var_scope, op_scope, {conv_name, out});
}

void MobileNetBuilder::logits(const Act& in) {
  // slim's _reduced_kernel_size_for_small_input: the 7x7 pool shrinks for small inputs.
  const int64_t k = std::min<int64_t>(in.shape[1], 7);
  auto& pool = b_.add("MobilenetV1/Logits/AvgPool_1a/AvgPool", "AvgPool", {in.name});
  set_type(pool, "T", DT_FLOAT);
  set_s(pool, "data_format", "NHWC");
  set_ints(pool, "ksize", {1, k, k, 1});
  set_s(pool, "padding", "VALID");
  set_ints(pool, "strides", {1, 2, 2, 1});
  const int64_t c = in.shape[3];
  layers_.push_back({pool.name(), "AvgPool", k, k, 2, "VALID", {1, 1, 1, c}, k * k * c});
  set_type(b_.add("MobilenetV1/Logits/Dropout_1b/Identity", "Identity", {pool.name()}), "T",
           DT_FLOAT);

  const std::string scope = "MobilenetV1/Logits/Conv2d_1c_1x1";
  std::string w = variable(scope + "/weights", WeightRole::kConvFilter, {1, 1, c, kClasses});
  std::string bias = variable(scope + "/biases", WeightRole::kBias, {kClasses});
  auto& conv =
      b_.add(scope + "/convolution", "Conv2D", {"MobilenetV1/Logits/Dropout_1b/Identity", w});
  set_type(conv, "T", DT_FLOAT);
  set_s(conv, "data_format", "NHWC");
  set_s(conv, "padding", "SAME");
  set_ints(conv, "strides", {1, 1, 1, 1});
  set_b(conv, "use_cudnn_on_gpu", true);
  auto& bias_add = b_.add(scope + "/BiasAdd", "BiasAdd", {scope + "/convolution", bias});
  set_type(bias_add, "T", DT_FLOAT);
  set_s(bias_add, "data_format", "NHWC");
  layers_.push_back({scope + "/convolution",
                     "Conv2D",
                     1,
                     1,
                     1,
                     "SAME",
                     {1, 1, 1, kClasses},
                     2 * c * kClasses + kClasses});

  auto& squeeze = b_.add("MobilenetV1/Logits/SpatialSqueeze", "Squeeze", {scope + "/BiasAdd"});
  set_type(squeeze, "T", DT_FLOAT);
  set_ints(squeeze, "squeeze_dims", {1, 2});

  const int32_t flat[] = {-1, static_cast<int32_t>(kClasses)};
  b_.constant("MobilenetV1/Predictions/Reshape/shape", Tensor::from_ints({2}, flat));
  auto& reshape =
      b_.add("MobilenetV1/Predictions/Reshape", "Reshape",
             {"MobilenetV1/Logits/SpatialSqueeze", "MobilenetV1/Predictions/Reshape/shape"});
  set_type(reshape, "T", DT_FLOAT);
  set_type(reshape, "Tshape", DT_INT32);
  set_type(
      b_.add("MobilenetV1/Predictions/Softmax", "Softmax", {"MobilenetV1/Predictions/Reshape"}),
      "T", DT_FLOAT);
  const int32_t out_shape[] = {1, static_cast<int32_t>(kClasses)};
  b_.constant("MobilenetV1/Predictions/Shape", Tensor::from_ints({2}, out_shape));
  auto& reshape_1 = b_.add("MobilenetV1/Predictions/Reshape_1", "Reshape",
                           {"MobilenetV1/Predictions/Softmax", "MobilenetV1/Predictions/Shape"});
  set_type(reshape_1, "T", DT_FLOAT);
  set_type(reshape_1, "Tshape", DT_INT32);
  layers_.push_back(
      {"MobilenetV1/Predictions/Reshape_1", "Softmax", 0, 0, 1, "", {1, kClasses}, 0});
}

}  // namespace

Replica mobilenet_v1(double depth_multiplier, int resolution, const WeightSource& weights) {
  if (!(depth_multiplier > 0 && depth_multiplier <= 1))
    fail("mobilenet_v1: depth multiplier ", depth_multiplier, " is not in (0, 1]");
  if (resolution < kMobileNetMinResolution || resolution > kMobileNetMaxResolution)
    fail("mobilenet_v1: resolution ", resolution, " is not in ", kMobileNetMinResolution, "..",
         kMobileNetMaxResolution);
  MobileNetBuilder b(depth_multiplier, weights);
  Act x = b.input(resolution);
  x = b.layer(0, "", x, b.depth(32), 2);
  // (stride, channels) of the 13 depthwise-separable layers, from slim's MOBILENETV1_CONV_DEFS.
  const std::pair<int64_t, int64_t> separable[] = {
      {1, 64},  {2, 128}, {1, 128}, {2, 256}, {1, 256},  {2, 512}, {1, 512},
      {1, 512}, {1, 512}, {1, 512}, {1, 512}, {2, 1024}, {1, 1024}};
  int index = 1;
  for (const auto& [stride, channels] : separable) {
    x = b.layer(index, "_depthwise", x, 0, stride);
    x = b.layer(index, "_pointwise", x, b.depth(channels), 1);
    ++index;
  }
  b.logits(x);
  Replica replica = b.finish();
  replica.graph_def.mutable_library();  // the releases carry an empty function library
  return replica;
}

}  // namespace poet::tf::replicas
