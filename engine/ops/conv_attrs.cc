#include "engine/ops/conv_attrs.h"

#include <optional>

namespace poet::ops {
namespace {

// The bound keeps (kernel - 1) * dilation and in + stride far from int64 overflow; real
// graphs use single digits.
constexpr int64_t kMaxWindowAttr = int64_t{1} << 30;

// A 4-element NHWC list whose batch and channel entries must be 1. Only dilations has a
// default in TensorFlow; strides and ksize are required.
void read_hw(const Node& node, std::string_view key, int64_t& h, int64_t& w) {
  std::vector<int64_t> v =
      key == "dilations" ? node.attr_ints(key, {1, 1, 1, 1}) : node.attr_ints(key);
  auto in_range = [](int64_t x) { return x >= 1 && x <= kMaxWindowAttr; };
  if (v.size() != 4 || v[0] != 1 || v[3] != 1 || !in_range(v[1]) || !in_range(v[2])) {
    std::string got;
    for (int64_t x : v) got += str_cat(got.empty() ? "" : ", ", x);
    fail(node.describe(), ": attribute '", key,
         "' must be [1, h, w, 1] with 1 <= h, w <= ", kMaxWindowAttr, ", got [", got, "]");
  }
  h = v[1];
  w = v[2];
}

// The node's list of strings `key`, or null when it has none.
const std::vector<std::string>* string_list(const Node& node, const std::string& key) {
  const auto it = node.attrs.find(key);
  return it == node.attrs.end() ? nullptr : std::get_if<std::vector<std::string>>(&it->second);
}

// The node's list of strings `fused_ops`.
const std::vector<std::string>& fused_ops(const Node& node) {
  const auto* ops = string_list(node, "fused_ops");
  if (!ops) fail(node.describe(), ": attribute 'fused_ops' (a list of strings) is missing");
  return *ops;
}

std::optional<kernels::Activation> activation_named(std::string_view op) {
  if (op == "Relu") return kernels::Activation::kRelu;
  if (op == "Relu6") return kernels::Activation::kRelu6;
  return std::nullopt;
}

std::string list(const std::vector<std::string>& ops) {
  std::string out;
  for (const std::string& op : ops) out += (out.empty() ? "" : ", ") + op;
  return out;
}

}  // namespace

WindowAttrs read_window_attrs(const Node& node, bool pooling) {
  WindowAttrs a;
  std::string format = node.attr_string("data_format", "NHWC");
  if (format != "NHWC")
    fail(node.describe(), ": data_format '", format, "' is not supported (only NHWC)");
  std::string padding = node.attr_string("padding");
  if (padding == "SAME") {
    a.padding = kernels::Padding::kSame;
  } else if (padding == "VALID") {
    a.padding = kernels::Padding::kValid;
  } else {
    fail(node.describe(), ": padding '", padding, "' is not supported (SAME or VALID)");
  }
  read_hw(node, "strides", a.stride_h, a.stride_w);
  if (pooling) {
    read_hw(node, "ksize", a.k_h, a.k_w);
  } else {
    read_hw(node, "dilations", a.dilation_h, a.dilation_w);
  }
  return a;
}

kernels::Activation read_fused_activation(const Node& node) {
  const std::vector<std::string>& ops = fused_ops(node);
  if (node.attr_int("num_args", 1) != 1)
    fail(node.describe(), ": attribute 'num_args' must be 1, got ", node.attr_int("num_args"));
  if ((ops.size() == 1 || ops.size() == 2) && ops[0] == "BiasAdd") {
    if (ops.size() == 1) return kernels::Activation::kNone;
    if (auto act = activation_named(ops[1])) return *act;
  }
  fail(node.describe(), ": fused_ops [", list(ops),
       "] is not supported (BiasAdd, optionally followed by Relu or Relu6)");
}

const std::vector<std::string>& chain_ops(const Node& chain) {
  const auto* ops = string_list(chain, "layer_ops");
  if (!ops || ops->empty())
    fail(chain.describe(), ": attribute 'layer_ops' (a list of the layers' ops) is missing");
  return *ops;
}

Node chain_layer(const Node& chain, int i) {
  Node layer;
  layer.name = chain.name + " layer " + std::to_string(i);
  layer.op = chain_ops(chain).at(i);
  const std::string prefix = std::to_string(i) + "/";
  for (const auto& [key, value] : chain.attrs)
    if (key.starts_with(prefix)) layer.attrs[key.substr(prefix.size())] = value;
  return layer;
}

kernels::Activation read_fused_pool_activation(const Node& node) {
  const std::vector<std::string>& ops = fused_ops(node);
  if (ops.size() == 1)
    if (auto act = activation_named(ops[0])) return *act;
  fail(node.describe(), ": fused_ops [", list(ops), "] is not supported (Relu or Relu6)");
}

std::string_view activation_op(kernels::Activation act) {
  switch (act) {
    case kernels::Activation::kRelu:
      return "Relu";
    case kernels::Activation::kRelu6:
      return "Relu6";
    case kernels::Activation::kNone:
      break;
  }
  return "";
}

int64_t window_output_size(int64_t in, int64_t k, int64_t stride, int64_t dilation,
                           kernels::Padding padding) {
  if (in < 0) return -1;
  return kernels::axis_geometry(in, k, stride, dilation, padding).out;
}

Shape window_output_shape(const InferContext& ctx, const PartialShape& in, int64_t k_h, int64_t k_w,
                          int64_t out_c, const WindowAttrs& attrs) {
  // TensorFlow fails here too ("computed output size would be negative"); an empty output
  // would only move the error downstream, or hide it.
  auto check_fits = [&](std::string_view axis, int64_t size, int64_t k, int64_t dilation) {
    const int64_t window = (k - 1) * dilation + 1;
    if (attrs.padding == kernels::Padding::kValid && size >= 0 && k >= 1 && window > size)
      ctx.fail("VALID padding: the window's ", axis, " of ", window, " (kernel ", k, ", dilation ",
               dilation, ") is larger than the input's ", size);
  };
  check_fits("height", in.dim(1), k_h, attrs.dilation_h);
  check_fits("width", in.dim(2), k_w, attrs.dilation_w);
  return {in.dim(0),
          window_output_size(in.dim(1), k_h, attrs.stride_h, attrs.dilation_h, attrs.padding),
          window_output_size(in.dim(2), k_w, attrs.stride_w, attrs.dilation_w, attrs.padding),
          out_c};
}

kernels::ConvShape conv_shape(const Shape& input, int64_t k_h, int64_t k_w, int64_t out_c,
                              const WindowAttrs& attrs) {
  kernels::ConvShape s;
  s.batch = input[0];
  s.in_h = input[1];
  s.in_w = input[2];
  s.in_c = input[3];
  s.out_c = out_c;
  s.k_h = k_h;
  s.k_w = k_w;
  s.stride_h = attrs.stride_h;
  s.stride_w = attrs.stride_w;
  s.dilation_h = attrs.dilation_h;
  s.dilation_w = attrs.dilation_w;
  kernels::set_output_geometry(s, attrs.padding);
  return s;
}

}  // namespace poet::ops
