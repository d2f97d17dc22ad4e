#include "importers/tensorflow/replicas/inception_v3.h"

#include <string>

#include "engine/error.h"

namespace poet::tf::replicas {
namespace {

using tensorflow::DT_FLOAT;
using tensorflow::DT_INT32;

constexpr int64_t kImageSize = 299;
constexpr int64_t kBottleneck = 2048;

// A tensor flowing through the builder: its producing node and NHWC shape.
struct Act {
  std::string name;
  Shape shape;
};

int64_t out_size(int64_t in, int64_t k, int64_t stride, std::string_view padding) {
  int64_t span = padding == "SAME" ? in : in - k + 1;
  if (span <= 0) fail("inception replica: a ", k, "-wide window does not fit in ", in);
  return (span + stride - 1) / stride;
}

class InceptionBuilder {
 public:
  InceptionBuilder(const WeightSource& weights, const InceptionV3Options& options)
      : weights_(weights), options_(options) {}

  Act jpeg_pipeline();
  // conv -> batchnorm -> CheckNumerics -> control_dependency -> Relu named `scope`.
  Act conv(const std::string& scope, const Act& in, int64_t kh, int64_t kw, int64_t out_c,
           int64_t stride = 1, std::string_view padding = "SAME");
  Act pool(const std::string& name, std::string_view op, const Act& in, int64_t k, int64_t stride,
           std::string_view padding);
  Act join(const std::string& block, const std::vector<Act>& parts);
  Act block_a(const std::string& name, const Act& in, int64_t pool_channels);
  Act block_b(const std::string& name, const Act& in);
  Act block_c(const std::string& name, const Act& in, int64_t c7);
  Act block_d(const std::string& name, const Act& in);
  Act block_e(const std::string& name, const Act& in, std::string_view pool_op);
  void classifier(const Act& in);
  // `<scope>/weights` and `<scope>/biases`, the MatMul of `in` ([1, n]) named `matmul`, and
  // the BiasAdd named `sum`, which is returned.
  Act dense(const std::string& scope, const std::string& matmul, const std::string& sum,
            const Act& in, int64_t units);

  Replica finish() { return {b_.release(), std::move(layers_)}; }

 private:
  Tensor weight(const std::string& name, WeightRole role, const Shape& shape) {
    return request_weight(weights_, name, role, shape);
  }

  const WeightSource& weights_;
  const InceptionV3Options& options_;
  GraphBuilder b_;
  std::vector<LayerInfo> layers_;
};

Act InceptionBuilder::jpeg_pipeline() {
  b_.constant("DecodeJpeg/contents", Tensor::from_string(""));
  auto& decode = b_.add("DecodeJpeg", "DecodeJpeg", {"DecodeJpeg/contents"});
  set_f(decode, "acceptable_fraction", 1.0f);
  set_i(decode, "channels", 3);
  set_b(decode, "fancy_upscaling", true);
  set_i(decode, "ratio", 1);
  set_b(decode, "try_recover_truncated", false);

  auto& cast = b_.add("Cast", "Cast", {"DecodeJpeg"});
  set_type(cast, "SrcT", tensorflow::DT_UINT8);
  set_type(cast, "DstT", DT_FLOAT);

  const int32_t zero = 0;
  b_.constant("ExpandDims/dim", Tensor::from_ints({}, {&zero, 1}));
  auto& expand = b_.add("ExpandDims", "ExpandDims", {"Cast", "ExpandDims/dim"});
  set_type(expand, "T", DT_FLOAT);
  set_type(expand, "Tdim", DT_INT32);

  const int32_t size[] = {kImageSize, kImageSize};
  b_.constant("ResizeBilinear/size", Tensor::from_ints({2}, size));
  auto& resize = b_.add("ResizeBilinear", "ResizeBilinear", {"ExpandDims", "ResizeBilinear/size"});
  set_type(resize, "T", DT_FLOAT);
  set_b(resize, "align_corners", false);

  b_.constant("Sub/y", Tensor::scalar_float(options_.input_mean));
  set_type(b_.add("Sub", "Sub", {"ResizeBilinear", "Sub/y"}), "T", DT_FLOAT);
  b_.constant("Mul/y", Tensor::scalar_float(options_.input_scale));
  set_type(b_.add("Mul", "Mul", {"Sub", "Mul/y"}), "T", DT_FLOAT);
  return {"Mul", {1, kImageSize, kImageSize, 3}};
}

Act InceptionBuilder::conv(const std::string& scope, const Act& in, int64_t kh, int64_t kw,
                           int64_t out_c, int64_t stride, std::string_view padding) {
  const int64_t in_c = in.shape[3];
  const std::string params = scope + "/conv2d_params", bn = scope + "/batchnorm";
  b_.constant(params, weight(params, WeightRole::kConvFilter, {kh, kw, in_c, out_c}));
  const std::pair<const char*, WeightRole> stats[] = {{"beta", WeightRole::kBnBeta},
                                                      {"gamma", WeightRole::kBnGamma},
                                                      {"moving_mean", WeightRole::kBnMean},
                                                      {"moving_variance", WeightRole::kBnVariance}};
  for (const auto& [stat, role] : stats) {
    std::string name = bn + "/" + stat;
    b_.constant(name, weight(name, role, {out_c}));
  }

  auto& conv = b_.add(scope + "/Conv2D", "Conv2D", {in.name, params});
  set_type(conv, "T", DT_FLOAT);
  set_s(conv, "data_format", "NHWC");
  set_s(conv, "padding", padding);
  set_ints(conv, "strides", {1, stride, stride, 1});
  set_b(conv, "use_cudnn_on_gpu", true);

  // BatchNormWithGlobalNormalization(t, m, v, beta, gamma).
  auto& norm = b_.add(bn, "BatchNormWithGlobalNormalization",
                      {scope + "/Conv2D", bn + "/moving_mean", bn + "/moving_variance",
                       bn + "/beta", bn + "/gamma"});
  set_type(norm, "T", DT_FLOAT);
  set_f(norm, "variance_epsilon", 0.001f);
  set_b(norm, "scale_after_normalization", false);

  auto& check = b_.add(scope + "/CheckNumerics", "CheckNumerics", {bn});
  set_type(check, "T", DT_FLOAT);
  set_s(check, "message", bn);
  set_type(b_.add(scope + "/control_dependency", "Identity", {bn, "^" + scope + "/CheckNumerics"}),
           "T", DT_FLOAT);
  set_type(b_.add(scope, "Relu", {scope + "/control_dependency"}), "T", DT_FLOAT);

  Shape out = {in.shape[0], out_size(in.shape[1], kh, stride, padding),
               out_size(in.shape[2], kw, stride, padding), out_c};
  int64_t flops = 2 * out[1] * out[2] * out_c * kh * kw * in_c;
  layers_.push_back({scope, "Conv2D", kh, kw, stride, std::string(padding), out, flops});
  return {scope, out};
}

Act InceptionBuilder::pool(const std::string& name, std::string_view op, const Act& in, int64_t k,
                           int64_t stride, std::string_view padding) {
  auto& node = b_.add(name, op, {in.name});
  set_type(node, "T", DT_FLOAT);
  set_s(node, "data_format", "NHWC");
  set_ints(node, "ksize", {1, k, k, 1});
  set_s(node, "padding", padding);
  set_ints(node, "strides", {1, stride, stride, 1});
  Shape out = {in.shape[0], out_size(in.shape[1], k, stride, padding),
               out_size(in.shape[2], k, stride, padding), in.shape[3]};
  // One addition or comparison per window element.
  int64_t flops = out[1] * out[2] * out[3] * k * k;
  layers_.push_back({name, std::string(op), k, k, stride, std::string(padding), out, flops});
  return {name, out};
}

Act InceptionBuilder::join(const std::string& block, const std::vector<Act>& parts) {
  const std::string dim = block + "/join/concat_dim";
  const int32_t axis = 3;
  b_.constant(dim, Tensor::from_ints({}, {&axis, 1}));
  std::vector<std::string> inputs = {dim};
  Shape out = parts.at(0).shape;
  out[3] = 0;
  for (const Act& p : parts) {
    inputs.push_back(p.name);
    out[3] += p.shape[3];
  }
  // The old Concat: the axis is the first input.
  auto& concat = b_.add(block + "/join", "Concat", inputs);
  set_i(concat, "N", static_cast<int64_t>(parts.size()));
  set_type(concat, "T", DT_FLOAT);
  layers_.push_back({block + "/join", "Concat", 0, 0, 1, "", out, 0});
  return {block + "/join", out};
}

// 35x35: 1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | avg pool -> 1x1.
Act InceptionBuilder::block_a(const std::string& name, const Act& in, int64_t pool_channels) {
  Act a = conv(name + "/conv", in, 1, 1, 64);
  Act t = conv(name + "/tower/conv", in, 1, 1, 48);
  t = conv(name + "/tower/conv_1", t, 5, 5, 64);
  Act t1 = conv(name + "/tower_1/conv", in, 1, 1, 64);
  t1 = conv(name + "/tower_1/conv_1", t1, 3, 3, 96);
  t1 = conv(name + "/tower_1/conv_2", t1, 3, 3, 96);
  Act p = pool(name + "/tower_2/pool", "AvgPool", in, 3, 1, "SAME");
  p = conv(name + "/tower_2/conv", p, 1, 1, pool_channels);
  return join(name, {a, t, t1, p});
}

// 35x35 -> 17x17: 3x3/2 | 1x1 -> 3x3 -> 3x3/2 | max pool 3x3/2.
Act InceptionBuilder::block_b(const std::string& name, const Act& in) {
  Act a = conv(name + "/conv", in, 3, 3, 384, 2, "VALID");
  Act t = conv(name + "/tower/conv", in, 1, 1, 64);
  t = conv(name + "/tower/conv_1", t, 3, 3, 96);
  t = conv(name + "/tower/conv_2", t, 3, 3, 96, 2, "VALID");
  Act p = pool(name + "/pool", "MaxPool", in, 3, 2, "VALID");
  return join(name, {a, t, p});
}

// 17x17 with factorised 7x7: 1x1 | 1x1 -> 1x7 -> 7x1 | 1x1 -> 7x1 -> 1x7 -> 7x1 -> 1x7 |
// avg pool -> 1x1.
Act InceptionBuilder::block_c(const std::string& name, const Act& in, int64_t c7) {
  Act a = conv(name + "/conv", in, 1, 1, 192);
  Act t = conv(name + "/tower/conv", in, 1, 1, c7);
  t = conv(name + "/tower/conv_1", t, 1, 7, c7);
  t = conv(name + "/tower/conv_2", t, 7, 1, 192);
  Act t1 = conv(name + "/tower_1/conv", in, 1, 1, c7);
  t1 = conv(name + "/tower_1/conv_1", t1, 7, 1, c7);
  t1 = conv(name + "/tower_1/conv_2", t1, 1, 7, c7);
  t1 = conv(name + "/tower_1/conv_3", t1, 7, 1, c7);
  t1 = conv(name + "/tower_1/conv_4", t1, 1, 7, 192);
  Act p = pool(name + "/tower_2/pool", "AvgPool", in, 3, 1, "SAME");
  p = conv(name + "/tower_2/conv", p, 1, 1, 192);
  return join(name, {a, t, t1, p});
}

// 17x17 -> 8x8: 1x1 -> 3x3/2 | 1x1 -> 1x7 -> 7x1 -> 3x3/2 | max pool 3x3/2.
Act InceptionBuilder::block_d(const std::string& name, const Act& in) {
  Act t = conv(name + "/tower/conv", in, 1, 1, 192);
  t = conv(name + "/tower/conv_1", t, 3, 3, 320, 2, "VALID");
  Act t1 = conv(name + "/tower_1/conv", in, 1, 1, 192);
  t1 = conv(name + "/tower_1/conv_1", t1, 1, 7, 192);
  t1 = conv(name + "/tower_1/conv_2", t1, 7, 1, 192);
  t1 = conv(name + "/tower_1/conv_3", t1, 3, 3, 192, 2, "VALID");
  Act p = pool(name + "/pool", "MaxPool", in, 3, 2, "VALID");
  return join(name, {t, t1, p});
}

// 8x8 with split 1x3 / 3x1 heads: 1x1 | 1x1 -> (1x3, 3x1) | 1x1 -> 3x3 -> (1x3, 3x1) |
// pool -> 1x1. The split heads live in `<tower>/mixed/` scopes but go straight into the
// block's one Concat of six inputs (see docs/INCEPTION_V3.md for the evidence).
Act InceptionBuilder::block_e(const std::string& name, const Act& in, std::string_view pool_op) {
  Act a = conv(name + "/conv", in, 1, 1, 320);
  Act t = conv(name + "/tower/conv", in, 1, 1, 384);
  Act t_a = conv(name + "/tower/mixed/conv", t, 1, 3, 384);
  Act t_b = conv(name + "/tower/mixed/conv_1", t, 3, 1, 384);
  Act t1 = conv(name + "/tower_1/conv", in, 1, 1, 448);
  t1 = conv(name + "/tower_1/conv_1", t1, 3, 3, 384);
  Act t1_a = conv(name + "/tower_1/mixed/conv", t1, 1, 3, 384);
  Act t1_b = conv(name + "/tower_1/mixed/conv_1", t1, 3, 1, 384);
  Act p = pool(name + "/tower_2/pool", pool_op, in, 3, 1, "SAME");
  p = conv(name + "/tower_2/conv", p, 1, 1, 192);
  return join(name, {a, t_a, t_b, t1_a, t1_b, p});
}

void InceptionBuilder::classifier(const Act& in) {
  Act pooled = pool("pool_3", "AvgPool", in, 8, 1, "VALID");
  const int32_t shape[] = {1, static_cast<int32_t>(kBottleneck)};
  b_.constant("pool_3/_reshape/shape", Tensor::from_ints({2}, shape));
  auto& reshape = b_.add("pool_3/_reshape", "Reshape", {pooled.name, "pool_3/_reshape/shape"});
  set_type(reshape, "T", DT_FLOAT);
  set_type(reshape, "Tshape", DT_INT32);
  layers_.push_back({"pool_3/_reshape", "Reshape", 0, 0, 1, "", {1, kBottleneck}, 0});

  Act x = {"pool_3/_reshape", {1, kBottleneck}};
  for (const HiddenLayer& h : options_.hidden) {
    x = dense(h.name, h.name + "/MatMul", h.name + "/BiasAdd", x, h.units);
    set_type(b_.add(h.name, "Relu", {x.name}), "T", DT_FLOAT);
    x.name = h.name;
  }
  // tf.nn.xw_plus_b(name="logits") inside scope "softmax": MatMul + BiasAdd.
  dense("softmax", "softmax/logits/MatMul", "softmax/logits", x, options_.classes);
  set_type(b_.add("softmax", "Softmax", {"softmax/logits"}), "T", DT_FLOAT);
  layers_.push_back({"softmax", "Softmax", 0, 0, 1, "", {1, options_.classes}, 0});
}

Act InceptionBuilder::dense(const std::string& scope, const std::string& matmul_name,
                            const std::string& sum, const Act& in, int64_t units) {
  const int64_t n = in.shape.at(1);
  const std::string weights = scope + "/weights", biases = scope + "/biases";
  b_.constant(weights, weight(weights, WeightRole::kDenseWeights, {n, units}));
  b_.constant(biases, weight(biases, WeightRole::kBias, {units}));
  auto& matmul = b_.add(matmul_name, "MatMul", {in.name, weights});
  set_type(matmul, "T", DT_FLOAT);
  set_b(matmul, "transpose_a", false);
  set_b(matmul, "transpose_b", false);
  auto& add = b_.add(sum, "BiasAdd", {matmul_name, biases});
  set_type(add, "T", DT_FLOAT);
  set_s(add, "data_format", "NHWC");
  layers_.push_back({sum, "MatMul", 0, 0, 1, "", {1, units}, 2 * n * units + units});
  return {sum, {1, units}};
}

}  // namespace

Replica inception_v3_2015(const WeightSource& weights, const InceptionV3Options& options) {
  if (options.mixed_10_pool != "MaxPool" && options.mixed_10_pool != "AvgPool")
    fail("inception replica: mixed_10 pool '", options.mixed_10_pool, "' (MaxPool or AvgPool)");
  if (options.classes < 1) fail("inception replica: ", options.classes, " classes");
  for (const HiddenLayer& h : options.hidden)
    if (h.units < 1 || h.name.empty()) fail("inception replica: bad hidden layer '", h.name, "'");
  InceptionBuilder b(weights, options);
  Act x = b.jpeg_pipeline();
  x = b.conv("conv", x, 3, 3, 32, 2, "VALID");        // 149x149x32
  x = b.conv("conv_1", x, 3, 3, 32, 1, "VALID");      // 147x147x32
  x = b.conv("conv_2", x, 3, 3, 64, 1, "SAME");       // 147x147x64
  x = b.pool("pool", "MaxPool", x, 3, 2, "VALID");    // 73x73x64
  x = b.conv("conv_3", x, 1, 1, 80, 1, "VALID");      // 73x73x80
  x = b.conv("conv_4", x, 3, 3, 192, 1, "VALID");     // 71x71x192
  x = b.pool("pool_1", "MaxPool", x, 3, 2, "VALID");  // 35x35x192
  x = b.block_a("mixed", x, 32);                      // 35x35x256
  x = b.block_a("mixed_1", x, 64);                    // 35x35x288
  x = b.block_a("mixed_2", x, 64);                    // 35x35x288
  x = b.block_b("mixed_3", x);                        // 17x17x768
  x = b.block_c("mixed_4", x, 128);
  x = b.block_c("mixed_5", x, 160);
  x = b.block_c("mixed_6", x, 160);
  x = b.block_c("mixed_7", x, 192);                     // 17x17x768
  x = b.block_d("mixed_8", x);                          // 8x8x1280
  x = b.block_e("mixed_9", x, "AvgPool");               // 8x8x2048
  x = b.block_e("mixed_10", x, options.mixed_10_pool);  // the release: max pool (a quirk)
  b.classifier(x);
  return b.finish();
}

}  // namespace poet::tf::replicas
