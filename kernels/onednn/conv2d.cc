#include "kernels/onednn/conv2d.h"

#include "engine/error.h"
#include "kernels/onednn/common.h"
#include "kernels/onednn/engine.h"

namespace poet::kernels::onednn {

using dnnl::memory;

struct Conv2dPrimitive::Impl {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward conv;
  WeightedOperands operands;
};

namespace {

// The filter as TensorFlow lays it out, described in oneDNN's dim order (OIHW, or GOIHW with
// one input channel per group for depthwise) with the strides of that layout.
memory::desc tf_filter_desc(const ConvShape& s, ConvKind kind) {
  if (kind == ConvKind::kDense) {
    return memory::desc({s.out_c, s.in_c, s.k_h, s.k_w}, memory::data_type::f32,
                        memory::dims{1, s.out_c, s.k_w * s.in_c * s.out_c, s.in_c * s.out_c});
  }
  int64_t mult = s.out_c / s.in_c;
  return memory::desc({s.in_c, mult, 1, s.k_h, s.k_w}, memory::data_type::f32,
                      memory::dims{mult, 1, 1, s.k_w * s.in_c * mult, s.in_c * mult});
}

memory::desc any_filter_desc(const ConvShape& s, ConvKind kind) {
  memory::dims dims = kind == ConvKind::kDense
                          ? memory::dims{s.out_c, s.in_c, s.k_h, s.k_w}
                          : memory::dims{s.in_c, s.out_c / s.in_c, 1, s.k_h, s.k_w};
  return memory::desc(dims, memory::data_type::f32, memory::format_tag::any);
}

void check_shape(const ConvShape& s, ConvKind kind, std::span<const float> filter,
                 std::span<const float> bias, const std::string& layer) {
  if (kind == ConvKind::kDepthwise && (s.in_c <= 0 || s.out_c % s.in_c != 0))
    fail("oneDNN depthwise convolution for ", layer, ": ", s.out_c,
         " output channels is not a multiple of ", s.in_c, " input channels");
  int64_t filter_size = s.k_h * s.k_w * (kind == ConvKind::kDense ? s.in_c * s.out_c : s.out_c);
  check_size(filter, filter_size, "filter", layer);
  if (!bias.empty()) check_size(bias, s.out_c, "bias", layer);
  if (!s.dense_output()) fail("oneDNN convolution for ", layer, ": the output must be dense");
}

}  // namespace

Conv2dPrimitive::Conv2dPrimitive(const ConvShape& s, ConvKind kind, std::span<const float> filter,
                                 std::span<const float> bias, Activation act)
    : shape_(s), layer_(describe(s)) {
  const std::string& layer = layer_;
  check_shape(s, kind, filter, bias, layer);
  if (s.output_size() == 0) return;
  try {
    use_configured_threads();
    const dnnl::engine& eng = cpu_engine();
    memory::desc src = nhwc_desc(s.batch, s.in_h, s.in_w, s.in_c);
    memory::desc dst = nhwc_desc(s.batch, s.out_h, s.out_w, s.out_c);
    memory::desc bias_desc;
    if (!bias.empty())
      bias_desc = memory::desc({s.out_c}, memory::data_type::f32, memory::format_tag::x);
    memory::dims pad_r{pad_after(s.in_h, s.out_h, s.k_h, s.stride_h, s.dilation_h, s.pad_top),
                       pad_after(s.in_w, s.out_w, s.k_w, s.stride_w, s.dilation_w, s.pad_left)};
    dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src,
        any_filter_desc(s, kind), bias_desc, dst, {s.stride_h, s.stride_w},
        {s.dilation_h - 1, s.dilation_w - 1}, {s.pad_top, s.pad_left}, pad_r);
    dnnl::convolution_forward::primitive_desc pd(desc, make_attr(act), eng);

    // The filter is reordered once into the layout the chosen implementation wants.
    impl_ = std::make_unique<Impl>(
        Impl{pd, dnnl::convolution_forward(pd),
             prepare_operands(pd, tf_filter_desc(s, kind), filter, bias_desc, bias, src, dst)});
  } catch (const dnnl::error& e) {
    fail_dnnl(e, kind == ConvKind::kDense ? "convolution" : "depthwise convolution", layer);
  }
}

Conv2dPrimitive::~Conv2dPrimitive() = default;
Conv2dPrimitive::Conv2dPrimitive(Conv2dPrimitive&&) noexcept = default;
Conv2dPrimitive& Conv2dPrimitive::operator=(Conv2dPrimitive&&) noexcept = default;

void Conv2dPrimitive::run(std::span<const float> input, std::span<float> output) const {
  check_size(input, shape_.input_size(), "input", layer_);
  check_size(output, shape_.output_size(), "output", layer_);
  if (impl_) execute(impl_->conv, impl_->pd, impl_->operands, input, output, "convolution", layer_);
}

}  // namespace poet::kernels::onednn
