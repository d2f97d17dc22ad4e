// One converter per Keras layer class. Weights keep Keras's layouts, which are TensorFlow's:
// Conv2D kernels HWIO, depthwise kernels [kh, kw, in, multiplier], Dense kernels [in, out].
#include "importers/tfjs/layers.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace poet::tfjs {
namespace {

std::vector<int64_t> nhwc(const std::vector<int64_t>& hw) { return {1, hw.at(0), hw.at(1), 1}; }

std::vector<int64_t> pair_config(LayerContext& ctx, std::string_view key,
                                 std::vector<int64_t> fallback) {
  std::vector<int64_t> v = ctx.has_config(key) ? ctx.config<std::vector<int64_t>>(key) : fallback;
  if (v.size() != 2 || v[0] < 1 || v[1] < 1) ctx.fail("'", key, "' must be two positive integers");
  return v;
}

std::string padding_config(LayerContext& ctx) {
  std::string p = ctx.config_or<std::string>("padding", "valid");
  if (p == "same") return "SAME";
  if (p == "valid") return "VALID";
  ctx.fail("padding '", p, "' is not supported (same or valid)");
}

void expect_channels_last(LayerContext& ctx) {
  std::string format = ctx.config_or<std::string>("data_format", "channels_last");
  if (format != "channels_last") ctx.fail("data_format '", format, "' is not supported");
}

Endpoint single_input(LayerContext& ctx) {
  if (ctx.inputs.size() != 1) ctx.fail("expects one input, has ", ctx.inputs.size());
  return ctx.inputs[0];
}

Endpoint input_layer(LayerContext& ctx) {
  std::vector<Json> dims = ctx.config<std::vector<Json>>("batch_input_shape");
  Shape shape;
  for (const Json& d : dims) {
    shape.push_back(d.is_null() ? -1 : as<int64_t>(d, "batch_input_shape", ctx.where()));
    if (!d.is_null() && shape.back() < 0)
      ctx.fail("batch_input_shape has dimension ", shape.back());
  }
  std::string dtype = ctx.config_or<std::string>("dtype", "float32");
  if (dtype != "float32") ctx.fail("input dtype '", dtype, "' is not supported");
  Node node;
  node.name = ctx.name();
  node.op = "Placeholder";
  node.attrs["dtype"] = DType::kFloat32;
  node.attrs["shape"] = PartialShape(shape);
  return {ctx.graph().add(std::move(node)), 0};
}

// A positive size from the layer's config: `fallback` when the config leaves it out (-1: any).
int64_t size_config(LayerContext& ctx, std::string_view key, int64_t fallback = -1) {
  if (!ctx.has_config(key)) return fallback;
  int64_t v = ctx.config<int64_t>(key);
  if (v < 1) ctx.fail("'", key, "' must be a positive integer, not ", v);
  return v;
}

int64_t product_or_unknown(int64_t a, int64_t b) { return a < 0 || b < 0 ? -1 : a * b; }

// Conv2D and DepthwiseConv2D: the convolution, an optional bias, an optional activation. The
// weights must have the shapes the config gives, as Keras and TF.js require when they load.
Endpoint convolution(LayerContext& ctx, bool depthwise) {
  expect_channels_last(ctx);
  Endpoint x = single_input(ctx);
  std::vector<int64_t> size =
      ctx.has_config("kernel_size") ? pair_config(ctx, "kernel_size", {}) : Shape{-1, -1};
  int64_t in = ctx.shape_of(x).dim(-1);
  int64_t out = depthwise ? size_config(ctx, "depth_multiplier", 1) : size_config(ctx, "filters");
  Endpoint kernel =
      ctx.weight(depthwise ? "depthwise_kernel" : "kernel", Shape{size[0], size[1], in, out});
  const std::vector<int64_t> strides = pair_config(ctx, "strides", {1, 1});
  const std::vector<int64_t> dilations = pair_config(ctx, "dilation_rate", {1, 1});
  if (std::ranges::max(strides) > 1 && std::ranges::max(dilations) > 1)
    ctx.fail("strides and dilation_rate both above 1, which Keras and TF.js refuse");
  std::map<std::string, AttrValue> attrs = {{"strides", nhwc(strides)},
                                            {"dilations", nhwc(dilations)},
                                            {"padding", padding_config(ctx)},
                                            {"data_format", std::string("NHWC")}};
  if (!depthwise) attrs["use_cudnn_on_gpu"] = true;
  Endpoint y = ctx.op(depthwise ? "depthwise" : "Conv2D",
                      depthwise ? "DepthwiseConv2dNative" : "Conv2D", {x, kernel}, attrs);
  if (ctx.config_or<bool>("use_bias", true))
    y = ctx.op("BiasAdd", "BiasAdd",
               {y, ctx.weight("bias", Shape{depthwise ? product_or_unknown(in, out) : out})},
               {{"data_format", std::string("NHWC")}});
  return ctx.activation(y, ctx.config_or<std::string>("activation", "linear"));
}

Endpoint conv2d(LayerContext& ctx) { return convolution(ctx, false); }
Endpoint depthwise_conv2d(LayerContext& ctx) { return convolution(ctx, true); }

Endpoint batch_normalization(LayerContext& ctx) {
  Endpoint x = single_input(ctx);
  PartialShape shape = ctx.shape_of(x);
  // tf.keras 2.x saves the axis as a one-element list ([3]); Keras takes a list of axes.
  int64_t axis = -1;
  if (ctx.has_config("axis") && ctx.config<Json>("axis").is_array()) {
    std::vector<int64_t> axes = ctx.config<std::vector<int64_t>>("axis");
    if (axes.size() != 1)
      ctx.fail("axis ", ctx.config<Json>("axis").dump().substr(0, 80),
               " is not supported (only the channel axis, last)");
    axis = axes[0];
  } else {
    axis = ctx.config_or<int64_t>("axis", -1);
  }
  if (shape.known_rank && axis != -1 && axis != shape.rank() - 1)
    ctx.fail("axis ", axis, " is not supported (only the channel axis, last)");
  float epsilon = ctx.config_or<float>("epsilon", 1e-3f);
  int64_t channels = shape.dim(-1);
  if (channels < 0) ctx.fail("the channel count of the input is unknown");
  Endpoint mean = ctx.weight("moving_mean", Shape{channels});
  Endpoint variance = ctx.weight("moving_variance", Shape{channels});
  auto filled = [&](std::string_view key, float v) {
    return ctx.config_or<bool>(key == "gamma" ? "scale" : "center", true)
               ? ctx.weight(key, Shape{channels})
               : ctx.constant(key,
                              Tensor::from_floats({channels}, std::vector<float>(channels, v)));
  };
  Endpoint gamma = filled("gamma", 1.f), beta = filled("beta", 0.f);
  return ctx.op("FusedBatchNormV3", "FusedBatchNormV3", {x, gamma, beta, mean, variance},
                {{"epsilon", epsilon},
                 {"is_training", false},
                 {"data_format", std::string("NHWC")},
                 {"U", DType::kFloat32}});
}

Endpoint activation_layer(LayerContext& ctx) {
  return ctx.activation(single_input(ctx), ctx.config<std::string>("activation"));
}

Endpoint relu_layer(LayerContext& ctx) {
  if (ctx.config_or<float>("negative_slope", 0.f) != 0.f ||
      ctx.config_or<float>("threshold", 0.f) != 0.f)
    ctx.fail("ReLU with negative_slope or threshold is not supported");
  if (!ctx.has_config("max_value")) return ctx.op("Relu", "Relu", {single_input(ctx)});
  if (ctx.config<float>("max_value") != 6.f) ctx.fail("ReLU max_value must be 6 (Relu6) or unset");
  return ctx.op("Relu6", "Relu6", {single_input(ctx)});
}

Endpoint pooling(LayerContext& ctx, const char* op) {
  expect_channels_last(ctx);
  std::vector<int64_t> size = pair_config(ctx, "pool_size", {2, 2});
  return ctx.op(op, op, {single_input(ctx)},
                {{"ksize", nhwc(size)},
                 {"strides", nhwc(pair_config(ctx, "strides", size))},
                 {"padding", padding_config(ctx)},
                 {"data_format", std::string("NHWC")}});
}

Endpoint max_pooling2d(LayerContext& ctx) { return pooling(ctx, "MaxPool"); }
Endpoint average_pooling2d(LayerContext& ctx) { return pooling(ctx, "AvgPool"); }

Endpoint global_average_pooling2d(LayerContext& ctx) {
  expect_channels_last(ctx);
  Endpoint axes =
      ctx.constant("reduction_indices", Tensor::from_ints({2}, std::vector<int32_t>{1, 2}));
  return ctx.op("Mean", "Mean", {single_input(ctx), axes},
                {{"keep_dims", ctx.config_or<bool>("keepdims", false)}, {"Tidx", DType::kInt32}});
}

Endpoint concatenate(LayerContext& ctx) {
  if (ctx.inputs.size() < 2) ctx.fail("expects at least two inputs");
  std::vector<Endpoint> inputs = ctx.inputs;
  // Read as int32, as TensorFlow's ConcatV2 takes it: a larger axis is an error, not wrapped.
  const int32_t axis = ctx.config_or<int32_t>("axis", -1);
  inputs.push_back(ctx.constant("axis", Tensor::from_ints({}, std::vector<int32_t>{axis})));
  return ctx.op("concat", "ConcatV2", inputs,
                {{"N", static_cast<int64_t>(ctx.inputs.size())}, {"Tidx", DType::kInt32}});
}

Endpoint add(LayerContext& ctx) {
  if (ctx.inputs.size() < 2) ctx.fail("expects at least two inputs");
  Endpoint sum = ctx.inputs[0];
  for (size_t i = 1; i < ctx.inputs.size(); ++i)
    sum = ctx.op(i == 1 ? "add" : str_cat("add_", i - 1), "AddV2", {sum, ctx.inputs[i]});
  return sum;
}

// Reshape's shape is int32, as TensorFlow's: callers give dimensions that fit.
Endpoint reshape_to(LayerContext& ctx, Endpoint x, const std::vector<int32_t>& target) {
  std::vector<int32_t> dims = {-1};
  dims.insert(dims.end(), target.begin(), target.end());
  Endpoint shape =
      ctx.constant("shape", Tensor::from_ints({static_cast<int64_t>(dims.size())}, dims));
  return ctx.op("Reshape", "Reshape", {x, shape}, {{"Tshape", DType::kInt32}});
}

// Keras's Flatten with data_format channels_first moves axis 1 last before flattening
// (perm [0, 2, ..., rank - 1, 1]). poet is channels-last throughout and has no Transpose, and
// no other layer it converts takes channels_first (Conv2D, the pools and ZeroPadding2D refuse
// it), so such a Flatten is refused unless the permutation leaves the elements in place: an
// input of rank 2 or less, or whose axis 1, or all of axes 2 and up, have size 1.
void expect_flatten_in_place(LayerContext& ctx, const PartialShape& shape) {
  std::string format = ctx.config_or<std::string>("data_format", "channels_last");
  if (format == "channels_last") return;
  if (format != "channels_first")
    ctx.fail("data_format '", format, "' is not supported (channels_last or channels_first)");
  if (shape.known_rank && shape.rank() <= 2) return;
  int64_t rest = 1;
  for (int i = 2; i < shape.rank(); ++i) rest = product_or_unknown(rest, shape.dims[i]);
  if (shape.known_rank && (shape.dims[1] == 1 || rest == 1)) return;
  ctx.fail("data_format 'channels_first' is not supported: Keras would transpose the input ",
           shape.str(),
           " to channels-last order before flattening, and poet is channels-last throughout");
}

Endpoint flatten(LayerContext& ctx) {
  Endpoint x = single_input(ctx);
  PartialShape shape = ctx.shape_of(x);
  expect_flatten_in_place(ctx, shape);
  int64_t features = 1;
  for (int i = 1; i < shape.rank(); ++i) {
    const int64_t d = shape.dims[i];
    if (d < 0) ctx.fail("input shape ", shape.str(), " is not known past the batch");
    if (d != 0 && features > INT32_MAX / d)
      ctx.fail("input shape ", shape.str(), " has more than 2^31 - 1 features");
    features *= d;
  }
  if (!shape.known_rank) ctx.fail("the input's rank is unknown");
  return reshape_to(ctx, x, {static_cast<int32_t>(features)});  // at most 2^31 - 1
}

// Keras's Reshape keeps the batch and reshapes the rest to target_shape, resolving its one -1
// from the input's non-batch size (Reshape.compute_output_shape), which must be unchanged.
// poet's Reshape takes the batch as its -1, so the target's own -1 is resolved here.
Endpoint reshape(LayerContext& ctx) {
  Endpoint x = single_input(ctx);
  std::vector<int32_t> target = ctx.config<std::vector<int32_t>>("target_shape");
  const std::string target_str = ctx.config<Json>("target_shape").dump().substr(0, 80);
  int unknown = -1;
  int64_t known = 1;  // at most (2^31 - 1)^n: checked for overflow
  bool overflow = false;
  for (int i = 0; i < static_cast<int>(target.size()); ++i) {
    if (target[i] == -1) {
      if (unknown >= 0) ctx.fail("target_shape ", target_str, " has more than one -1");
      unknown = i;
    } else if (target[i] < 0) {
      ctx.fail("target_shape ", target_str, " has a negative dimension ", target[i]);
    } else {
      overflow = overflow || __builtin_mul_overflow(known, int64_t{target[i]}, &known);
    }
  }
  PartialShape shape = ctx.shape_of(x);
  int64_t size = shape.known_rank && shape.rank() >= 1 ? 1 : -1;  // the input's, past the batch
  for (int i = 1; i < shape.rank() && size >= 0; ++i) {
    if (shape.dims[i] < 0 || __builtin_mul_overflow(size, shape.dims[i], &size)) size = -1;
  }
  if (size < 0) {
    if (unknown < 0) return reshape_to(ctx, x, target);  // the op checks the size when it runs
    ctx.fail("target_shape ", target_str, " has a -1, and the input shape ", shape.str(),
             " is not known past the batch to resolve it");
  }
  if (unknown >= 0) {
    if (overflow || known == 0 || size % known != 0)
      ctx.fail("cannot reshape the input ", shape.str(), " (", size,
               " elements past the batch) to target_shape ", target_str);
    if (size / known > INT32_MAX)
      ctx.fail("target_shape ", target_str, ": its -1 would be ", size / known, ", past 2^31 - 1");
    target[unknown] = static_cast<int32_t>(size / known);
  } else if (overflow || known != size) {
    ctx.fail("cannot reshape the input ", shape.str(), " (", size,
             " elements past the batch) to target_shape ", target_str,
             overflow ? "" : str_cat(" (", known, " elements)"));
  }
  return reshape_to(ctx, x, target);
}

// Keras's Dense acts on the last axis of an input of any rank >= 2: an input of rank 3 or
// more is reshaped to [-1, in] for the MatMul and back to its leading dimensions after the bias
// ("<layer>/flatten", "<layer>/unflatten"), which must then be known past the batch.
Endpoint dense(LayerContext& ctx) {
  Endpoint x = single_input(ctx);
  PartialShape shape = ctx.shape_of(x);
  if (shape.known_rank && shape.rank() < 2)
    ctx.fail("the input ", shape.str(), " has rank ", shape.rank(), ", expected at least 2");
  int64_t units = size_config(ctx, "units");
  Endpoint kernel = ctx.weight("kernel", Shape{shape.dim(-1), units});
  std::vector<int32_t> leading;  // the input's dimensions between the batch and the last
  const bool flat = !shape.known_rank || shape.rank() == 2;
  if (!flat) {
    const int64_t in_size = ctx.shape_of(kernel).dim(0);
    for (int i = 1; i < shape.rank(); ++i) {
      const int64_t d = i + 1 < shape.rank() ? shape.dims[i] : in_size;
      if (d < 0)
        ctx.fail("the input ", shape.str(),
                 " is not known past the batch (a Dense on rank 3 or more is reshaped)");
      if (d > INT32_MAX) ctx.fail("the input ", shape.str(), " has a dimension past 2^31 - 1");
      if (i + 1 < shape.rank()) leading.push_back(static_cast<int32_t>(d));
    }
    if (units > INT32_MAX) ctx.fail("units ", units, " is past 2^31 - 1");
    std::vector<int32_t> in = {-1, static_cast<int32_t>(in_size)};
    x = ctx.op("flatten", "Reshape", {x, ctx.constant("flatten/shape", Tensor::from_ints({2}, in))},
               {{"Tshape", DType::kInt32}});
  }
  Endpoint y =
      ctx.op("MatMul", "MatMul", {x, kernel}, {{"transpose_a", false}, {"transpose_b", false}});
  if (ctx.config_or<bool>("use_bias", true))
    y = ctx.op("BiasAdd", "BiasAdd", {y, ctx.weight("bias", Shape{units})},
               {{"data_format", std::string("NHWC")}});
  if (!flat) {
    std::vector<int32_t> out = {-1};
    out.insert(out.end(), leading.begin(), leading.end());
    out.push_back(static_cast<int32_t>(units));
    y = ctx.op("unflatten", "Reshape",
               {y, ctx.constant("unflatten/shape",
                                Tensor::from_ints({static_cast<int64_t>(out.size())}, out))},
               {{"Tshape", DType::kInt32}});
  }
  return ctx.activation(y, ctx.config_or<std::string>("activation", "linear"));
}

// Dropout only acts in training; at inference it passes its input through.
Endpoint dropout(LayerContext& ctx) { return ctx.op("Identity", "Identity", {single_input(ctx)}); }

Endpoint zero_padding2d(LayerContext& ctx) {
  expect_channels_last(ctx);
  const Json padding = ctx.config<Json>("padding");
  // Read as int32, TensorFlow's Pad's type: a larger padding is an error, not wrapped.
  int32_t t, b, l, r;
  if (padding.is_number_integer()) {
    t = b = l = r = as<int32_t>(padding, "padding", ctx.where());
  } else if (padding.is_array() && padding.size() == 2 && padding[0].is_number_integer()) {
    t = b = as<int32_t>(padding[0], "padding", ctx.where());
    l = r = as<int32_t>(padding[1], "padding", ctx.where());
  } else if (padding.is_array() && padding.size() == 2 && padding[0].is_array()) {
    auto hw = as<std::vector<std::vector<int32_t>>>(padding, "padding", ctx.where());
    if (hw[0].size() != 2 || hw[1].size() != 2) ctx.fail("malformed padding");
    t = hw[0][0], b = hw[0][1], l = hw[1][0], r = hw[1][1];
  } else {
    ctx.fail("malformed padding ", padding.dump().substr(0, 60));
  }
  if (std::min({t, b, l, r}) < 0) ctx.fail("negative padding");
  Tensor paddings = Tensor::from_ints({4, 2}, std::vector<int32_t>{0, 0, t, b, l, r, 0, 0});
  return ctx.op("Pad", "Pad", {single_input(ctx), ctx.constant("paddings", paddings)},
                {{"Tpaddings", DType::kInt32}});
}

Endpoint softmax_layer(LayerContext& ctx) {
  Endpoint x = single_input(ctx);
  // TF.js's Softmax layer saves axis 1 by default (Keras's, -1): the last axis of a rank-2 input.
  const int64_t axis = ctx.config_or<int64_t>("axis", -1);
  const PartialShape shape = ctx.shape_of(x);
  if (axis != -1 && !(shape.known_rank && axis == shape.rank() - 1))
    ctx.fail("Softmax over axis ", axis, ", not the last");
  return ctx.op("Softmax", "Softmax", {x});
}

using Converter = Endpoint (*)(LayerContext&);

const std::map<std::string, Converter, std::less<>>& converters() {
  static const std::map<std::string, Converter, std::less<>> table = {
      {"Activation", activation_layer},
      {"Add", add},
      {"AveragePooling2D", average_pooling2d},
      {"BatchNormalization", batch_normalization},
      {"Concatenate", concatenate},
      {"Conv2D", conv2d},
      {"Dense", dense},
      {"DepthwiseConv2D", depthwise_conv2d},
      {"Dropout", dropout},
      {"Flatten", flatten},
      {"GlobalAveragePooling2D", global_average_pooling2d},
      {"InputLayer", input_layer},
      {"MaxPooling2D", max_pooling2d},
      {"ReLU", relu_layer},
      {"Reshape", reshape},
      {"Softmax", softmax_layer},
      {"ZeroPadding2D", zero_padding2d},
  };
  return table;
}

}  // namespace

Endpoint LayerContext::weight(std::string_view key, const PartialShape& shape) {
  std::string name = str_cat(name_, "/", key);
  auto it = weights_.find(name);
  if (it == weights_.end()) fail("weight '", name, "' is missing from the weights manifest");
  const Shape& got = it->second.shape();
  bool fits =
      !shape.known_rank ||
      (got.size() == shape.dims.size() &&
       std::ranges::equal(got, shape.dims, [](int64_t g, int64_t d) { return d < 0 || g == d; }));
  if (!fits)
    fail("weight '", name, "' has shape ", shape_string(got), ", expected ", shape.str(),
         " from the layer's config");
  Endpoint e = constant(key, std::move(it->second));
  weights_.erase(it);
  return e;
}

Endpoint LayerContext::constant(std::string_view suffix, Tensor value) {
  Node node;
  node.name = str_cat(name_, "/", suffix);
  node.op = "Const";
  node.attrs["dtype"] = value.dtype();
  node.attrs["value"] = std::move(value);
  return {graph_.add(std::move(node)), 0};
}

Endpoint LayerContext::op(std::string_view suffix, std::string_view op, std::vector<Endpoint> in,
                          std::map<std::string, AttrValue> attrs) {
  Node node;
  node.name = str_cat(name_, "/", suffix);
  node.op = std::string(op);
  node.inputs = std::move(in);
  node.attrs = std::move(attrs);
  node.attrs["T"] = DType::kFloat32;
  return {graph_.add(std::move(node)), 0};
}

Endpoint LayerContext::activation(Endpoint x, const std::string& activation) {
  if (activation == "linear") return x;
  if (activation == "relu") return op("Relu", "Relu", {x});
  if (activation == "relu6") return op("Relu6", "Relu6", {x});
  if (activation == "softmax") return op("Softmax", "Softmax", {x});
  fail("activation '", activation, "' is not supported (linear, relu, relu6, softmax)");
}

// Inference errors name the layer whose node fails (each layer's nodes are inferred as the
// layer is converted: load_model asks for its output's shape).
PartialShape LayerContext::shape_of(Endpoint e) {
  try {
    return shapes_.shape_of(e);
  } catch (const Error& err) {
    fail(err.what());
  }
}

PartialShape ShapeInference::shape_of(Endpoint e) {
  OpOptions options;
  options.backend = Backend::kReference;
  for (int n = static_cast<int>(infos_.size()); n <= e.node; ++n) {
    const Node& node = graph_.node(n);
    std::vector<const TensorInfo*> in;
    for (const Endpoint& i : node.inputs) {
      if (i.node < 0 || i.node >= n || i.index >= static_cast<int>(infos_[i.node].size()))
        fail(node.describe(), ": input '", graph_.endpoint_name(i), "' does not exist before it");
      in.push_back(&infos_[i.node][i.index]);
    }
    std::unique_ptr<Op> op = make_op(node, options);
    std::vector<TensorInfo> out(op->num_outputs());
    InferContext ctx(node, in, out);
    op->infer(ctx);
    infos_.push_back(std::move(out));
  }
  return infos_[e.node].at(e.index).shape;
}

Endpoint convert_layer(const std::string& class_name, LayerContext& ctx) {
  auto it = converters().find(class_name);
  if (it == converters().end()) ctx.fail("layer class '", class_name, "' is not supported");
  Endpoint out = naming_json_errors(ctx.where(), [&] { return it->second(ctx); });
  Graph& g = ctx.graph();
  bool own = g.node(out.node).name.starts_with(ctx.name() + "/") && out.index == 0;
  if (own) {
    g.rename(out.node, ctx.name());
  } else if (g.node(out.node).name != ctx.name()) {
    out = ctx.op("Identity", "Identity", {out});  // a linear layer passing its input through
    g.rename(out.node, ctx.name());
  }
  return out;
}

}  // namespace poet::tfjs
