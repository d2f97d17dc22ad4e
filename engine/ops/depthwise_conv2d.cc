// DepthwiseConv2dNative: NHWC input, filter [kh, kw, in_c, multiplier], out_c = in_c * multiplier.
// _FusedDepthwiseConv2dNative (made by engine/optimize/fuse_conv.cc, as TensorFlow's grappler
// does): the same with a bias and optionally Relu / Relu6 applied in the kernel's epilogue.
// Backend kReference runs kernels/ref; kNative the SIMD kernel for the active ISA, on the
// filter and bias packed once while they are constants; kOneDnn a oneDNN depthwise primitive
// built once per layer shape while the filter is a constant (the SIMD kernel when it is fed).
#include <memory>
#include <span>

#include "engine/ops/convolution.h"
#include "engine/ops/registry.h"
#include "kernels/ref/depthwise_conv2d.h"
#include "kernels/x86/depthwise_conv2d_nhwc.h"

namespace poet::ops {
namespace {

namespace x86 = kernels::x86;

class DepthwiseConv2dNative final : public Convolution {
 public:
  DepthwiseConv2dNative(const Node& node, const OpOptions& options, bool fused)
      : Convolution(node, options, fused, kernels::onednn::ConvKind::kDepthwise) {}

  void compute(ComputeContext& ctx) const override {
    const kernels::ConvShape s = conv_shape(ctx);
    if (run_onednn(ctx, s)) return;
    const Tensor& filter = ctx.input(1);
    std::span<const float> in = ctx.input(0).data<float>();
    std::span<float> out = ctx.output(0).data<float>();
    if (backend_ == Backend::kReference) {
      kernels::ref::depthwise_conv2d(s, in, filter.data<float>(), bias(ctx), activation_, out);
      return;
    }
    const x86::Isa isa = x86::active_isa();
    if (filter_varies_ || isa == x86::Isa::kRef || !x86::depthwise_conv2d_nhwc_vectorised(s)) {
      x86::depthwise_conv2d_nhwc(isa, s, in, filter.data<float>(), bias(ctx), activation_, out,
                                 ctx.pool());
      return;
    }
    // Packed once per filter and bias, which a frozen graph holds as constants.
    const std::span<const float> b = bias(ctx);
    std::shared_ptr<const x86::PackedDepthwiseWeights> packed = packed_.get(filter, b.data(), [&] {
      return x86::pack_depthwise_weights(s.k_h, s.k_w, s.out_c, filter.data<float>(), b);
    });
    x86::depthwise_conv2d_nhwc(isa, s, in, *packed, activation_, out, ctx.pool());
  }

  int64_t flops(std::span<const TensorInfo> in, std::span<const TensorInfo> out) const override {
    const Shape& f = in[1].shape.dims;
    const int64_t outputs = num_elements(out[0].shape.dims);
    return 2 * outputs * f[0] * f[1] + (fused_ ? outputs : 0);
  }

 private:
  PreparedCache<const float*, x86::PackedDepthwiseWeights> packed_;  // keyed by the bias
};

std::unique_ptr<Op> make_depthwise_conv2d(const Node& node, const OpOptions& options) {
  return std::make_unique<DepthwiseConv2dNative>(node, options, /*fused=*/false);
}

std::unique_ptr<Op> make_fused_depthwise_conv2d(const Node& node, const OpOptions& options) {
  return std::make_unique<DepthwiseConv2dNative>(node, options, /*fused=*/true);
}

POET_REGISTER_OP("DepthwiseConv2dNative", make_depthwise_conv2d,
                 {.inputs = {"T", "T"},
                  .attrs = {"T", "strides", "padding", "explicit_paddings", "data_format",
                            "dilations"}});
POET_REGISTER_OP("_FusedDepthwiseConv2dNative", make_fused_depthwise_conv2d);

}  // namespace
}  // namespace poet::ops
