// DepthwiseConv2dNative: NHWC input, filter [kh, kw, in_c, multiplier], out_c = in_c * multiplier.
#include "kernels/ref/depthwise_conv2d.h"
#include "engine/ops/conv_attrs.h"
#include "engine/ops/registry.h"

namespace poet::ops {
namespace {

class DepthwiseConv2dNative final : public Op {
 public:
  explicit DepthwiseConv2dNative(const Node& node)
      : attrs_(read_window_attrs(node, /*pooling=*/false)) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2);
    ctx.expect_dtype(0, DType::kFloat32);
    ctx.expect_dtype(1, DType::kFloat32);
    ctx.expect_rank(0, 4);
    ctx.expect_rank(1, 4);
    const PartialShape& in = ctx.input_shape(0);
    const PartialShape& filter = ctx.input_shape(1);
    if (in.dim(3) >= 0 && filter.dim(2) >= 0 && in.dim(3) != filter.dim(2))
      ctx.fail("input has ", in.dim(3), " channels but the filter ", filter.str(), " expects ",
               filter.dim(2));
    int64_t out_c = filter.dim(2) >= 0 && filter.dim(3) >= 0 ? filter.dim(2) * filter.dim(3) : -1;
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
    kernels::ref::depthwise_conv2d(s, ctx.input(0).data<float>(), filter.data<float>(), {},
                                   kernels::Activation::kNone, ctx.output(0).data<float>());
  }

  int64_t flops(std::span<const TensorInfo> in, std::span<const TensorInfo> out) const override {
    const Shape& f = in[1].shape.dims;
    return 2 * num_elements(out[0].shape.dims) * f[0] * f[1];
  }

 private:
  WindowAttrs attrs_;
};

std::unique_ptr<Op> make_depthwise_conv2d(const Node& node, const OpOptions&) {
  return std::make_unique<DepthwiseConv2dNative>(node);
}

POET_REGISTER_OP("DepthwiseConv2dNative", make_depthwise_conv2d);

}  // namespace
}  // namespace poet::ops
