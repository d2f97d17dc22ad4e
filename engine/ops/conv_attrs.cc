#include "engine/ops/conv_attrs.h"

namespace poet::ops {
namespace {

// A 4-element NHWC list whose batch and channel entries must be 1. Only dilations has a
// default in TensorFlow; strides and ksize are required.
void read_hw(const Node& node, std::string_view key, int64_t& h, int64_t& w) {
  std::vector<int64_t> v =
      key == "dilations" ? node.attr_ints(key, {1, 1, 1, 1}) : node.attr_ints(key);
  if (v.size() != 4 || v[0] != 1 || v[3] != 1 || v[1] < 1 || v[2] < 1)
    fail(node.describe(), ": attribute '", key, "' must be [1, h, w, 1] with h, w >= 1, got ",
         shape_string(v));
  h = v[1];
  w = v[2];
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
  auto it = node.attrs.find("fused_ops");
  const auto* ops =
      it == node.attrs.end() ? nullptr : std::get_if<std::vector<std::string>>(&it->second);
  if (!ops) fail(node.describe(), ": attribute 'fused_ops' (a list of strings) is missing");
  if (node.attr_int("num_args", 1) != 1)
    fail(node.describe(), ": attribute 'num_args' must be 1, got ", node.attr_int("num_args"));
  const size_t n = ops->size();
  if (n >= 1 && n <= 2 && (*ops)[0] == "BiasAdd") {
    if (n == 1) return kernels::Activation::kNone;
    if ((*ops)[1] == "Relu") return kernels::Activation::kRelu;
    if ((*ops)[1] == "Relu6") return kernels::Activation::kRelu6;
  }
  std::string list;
  for (const std::string& op : *ops) list += (list.empty() ? "" : ", ") + op;
  fail(node.describe(), ": fused_ops [", list,
       "] is not supported (BiasAdd, optionally followed by Relu or Relu6)");
}

int64_t window_output_size(int64_t in, int64_t k, int64_t stride, int64_t dilation,
                           kernels::Padding padding) {
  if (in < 0) return -1;
  return kernels::axis_geometry(in, k, stride, dilation, padding).out;
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
