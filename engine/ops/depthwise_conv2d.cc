// DepthwiseConv2dNative: NHWC input, filter [kh, kw, in_c, multiplier], out_c = in_c * multiplier.
// _FusedDepthwiseConv2dNative (made by engine/optimize/fuse_conv.cc, as TensorFlow's grappler
// does): the same with a bias and optionally Relu / Relu6 applied in the kernel's epilogue.
// Backend kReference runs kernels/ref; kNative the SIMD kernel for the active ISA; kOneDnn a
// oneDNN depthwise primitive built once per layer shape while the filter is a constant (the
// SIMD kernel when it is fed).
#include <atomic>

#include "engine/ops/conv_attrs.h"
#include "engine/ops/prepared_cache.h"
#include "engine/ops/registry.h"
#include "kernels/onednn/conv2d.h"
#include "kernels/ref/depthwise_conv2d.h"
#include "kernels/x86/depthwise_conv2d_nhwc.h"

namespace poet::ops {
namespace {

namespace x86 = kernels::x86;
namespace onednn = kernels::onednn;
using kernels::Activation;

class DepthwiseConv2dNative final : public Op {
 public:
  DepthwiseConv2dNative(const Node& node, const OpOptions& options, bool fused)
      : attrs_(read_window_attrs(node, /*pooling=*/false)),
        backend_(options.backend),
        fused_(fused),
        act_(fused ? read_fused_activation(node) : Activation::kNone) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(fused_ ? 3 : 2);
    for (int i = 0; i < ctx.num_inputs(); ++i) ctx.expect_dtype(i, DType::kFloat32);
    ctx.expect_rank(0, 4);
    ctx.expect_rank(1, 4);
    const PartialShape& in = ctx.input_shape(0);
    const PartialShape& filter = ctx.input_shape(1);
    if (in.dim(3) >= 0 && filter.dim(2) >= 0 && in.dim(3) != filter.dim(2))
      ctx.fail("input has ", in.dim(3), " channels but the filter ", filter.str(), " expects ",
               filter.dim(2));
    int64_t out_c = filter.dim(2) >= 0 && filter.dim(3) >= 0 ? filter.dim(2) * filter.dim(3) : -1;
    if (fused_) {
      ctx.expect_rank(2, 1);
      const int64_t bias = ctx.input_shape(2).dim(0);
      if (bias >= 0 && out_c >= 0 && bias != out_c)
        ctx.fail("bias has ", bias, " elements but the convolution makes ", out_c, " channels");
    }
    if (!ctx.input_value(1) || (fused_ && !ctx.input_value(2))) filter_varies_ = true;
    ctx.set_output(0, DType::kFloat32,
                   Shape{in.dim(0),
                         window_output_size(in.dim(1), filter.dim(0), attrs_.stride_h,
                                            attrs_.dilation_h, attrs_.padding),
                         window_output_size(in.dim(2), filter.dim(1), attrs_.stride_w,
                                            attrs_.dilation_w, attrs_.padding),
                         out_c});
  }

  void compute(ComputeContext& ctx) const override {
    const Tensor& filter = ctx.input(1);
    kernels::ConvShape s = conv_shape(ctx.input(0).shape(), filter.dim(0), filter.dim(1),
                                      filter.dim(2) * filter.dim(3), attrs_);
    std::span<const float> bias;
    if (fused_) bias = ctx.input(2).data<float>();
    if (backend_ == Backend::kReference) {
      kernels::ref::depthwise_conv2d(s, ctx.input(0).data<float>(), filter.data<float>(), bias,
                                     act_, ctx.output(0).data<float>());
      return;
    }
    if (backend_ == Backend::kOneDnn && !filter_varies_) {
      onednn_
          .get(filter, s,
               [&] {
                 return onednn::Conv2dPrimitive(s, onednn::ConvKind::kDepthwise,
                                                filter.data<float>(), bias, act_);
               })
          ->run(ctx.input(0).data<float>(), ctx.output(0).data<float>());
      return;
    }
    x86::depthwise_conv2d_nhwc(x86::active_isa(), s, ctx.input(0).data<float>(),
                               filter.data<float>(), bias, act_, ctx.output(0).data<float>(),
                               ctx.pool());
  }

  int64_t flops(std::span<const TensorInfo> in, std::span<const TensorInfo> out) const override {
    const Shape& f = in[1].shape.dims;
    const int64_t outputs = num_elements(out[0].shape.dims);
    return 2 * outputs * f[0] * f[1] + (fused_ ? outputs : 0);
  }

 private:
  WindowAttrs attrs_;
  Backend backend_;
  bool fused_;
  Activation act_;
  // Set when a filter or bias is fed: a prepared primitive could not be reused.
  mutable std::atomic<bool> filter_varies_ = false;
  PreparedCache<kernels::ConvShape, onednn::Conv2dPrimitive> onednn_;
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
