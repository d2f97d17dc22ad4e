// DepthwiseConv2dNative: NHWC input, filter [kh, kw, in_c, multiplier], out_c = in_c * multiplier.
// _FusedDepthwiseConv2dNative (made by engine/optimize/fuse_conv.cc, as TensorFlow's grappler
// does): the same with a bias and optionally Relu / Relu6 applied in the kernel's epilogue.
// Backend kReference runs kernels/ref; kNative the SIMD kernel for the active ISA; kOneDnn a
// oneDNN depthwise primitive built once per layer shape while the filter is a constant (the
// SIMD kernel when it is fed).
#include <span>

#include "engine/ops/convolution.h"
#include "engine/ops/registry.h"
#include "kernels/ref/depthwise_conv2d.h"
#include "kernels/x86/depthwise_conv2d_nhwc.h"

namespace poet::ops {
namespace {

class DepthwiseConv2dNative final : public Convolution {
 public:
  DepthwiseConv2dNative(const Node& node, const OpOptions& options, bool fused)
      : Convolution(node, options, fused, kernels::onednn::ConvKind::kDepthwise) {}

  void compute(ComputeContext& ctx) const override {
    const kernels::ConvShape s = conv_shape(ctx);
    if (run_onednn(ctx, s)) return;
    std::span<const float> in = ctx.input(0).data<float>(), filter = ctx.input(1).data<float>();
    std::span<float> out = ctx.output(0).data<float>();
    if (backend_ == Backend::kReference) {
      kernels::ref::depthwise_conv2d(s, in, filter, bias(ctx), activation_, out);
      return;
    }
    kernels::x86::depthwise_conv2d_nhwc(kernels::x86::active_isa(), s, in, filter, bias(ctx),
                                        activation_, out, ctx.pool());
  }

  int64_t flops(std::span<const TensorInfo> in, std::span<const TensorInfo> out) const override {
    const Shape& f = in[1].shape.dims;
    const int64_t outputs = num_elements(out[0].shape.dims);
    return 2 * outputs * f[0] * f[1] + (fused_ ? outputs : 0);
  }
};

std::unique_ptr<Op> make_depthwise_conv2d(const Node& node, const OpOptions& options) {
  return std::make_unique<DepthwiseConv2dNative>(node, options, /*fused=*/false);
}

std::unique_ptr<Op> make_fused_depthwise_conv2d(const Node& node, const OpOptions& options) {
  return std::make_unique<DepthwiseConv2dNative>(node, options, /*fused=*/true);
}

POET_REGISTER_OP("DepthwiseConv2dNative", make_depthwise_conv2d);
POET_REGISTER_OP("_FusedDepthwiseConv2dNative", make_fused_depthwise_conv2d);

}  // namespace
}  // namespace poet::ops
