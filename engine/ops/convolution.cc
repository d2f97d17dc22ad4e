#include "engine/ops/convolution.h"

namespace poet::ops {

using kernels::onednn::ConvKind;

Convolution::Convolution(const Node& node, const OpOptions& options, bool fused, ConvKind kind)
    : backend_(options.backend),
      fused_(fused),
      activation_(fused ? read_fused_activation(node) : kernels::Activation::kNone),
      attrs_(read_window_attrs(node, /*pooling=*/false)),
      kind_(kind) {}

void Convolution::infer(InferContext& ctx) const {
  ctx.expect_inputs(fused_ ? 3 : 2);
  for (int i = 0; i < ctx.num_inputs(); ++i) ctx.expect_dtype(i, DType::kFloat32);
  ctx.expect_rank(0, 4);
  ctx.expect_rank(1, 4);
  const PartialShape& in = ctx.input_shape(0);
  const PartialShape& filter = ctx.input_shape(1);
  if (in.dim(3) >= 0 && filter.dim(2) >= 0 && in.dim(3) != filter.dim(2))
    ctx.fail("input has ", in.dim(3), " channels but the filter ", filter.str(), " expects ",
             filter.dim(2));
  int64_t out_c = filter.dim(3);
  if (kind_ == ConvKind::kDepthwise)
    out_c = filter.dim(2) >= 0 && filter.dim(3) >= 0 ? filter.dim(2) * filter.dim(3) : -1;
  if (fused_) {
    ctx.expect_rank(2, 1);
    const int64_t bias = ctx.input_shape(2).dim(0);
    if (bias >= 0 && out_c >= 0 && bias != out_c)
      ctx.fail("bias has ", bias, " elements but the convolution makes ", out_c, " channels");
  }
  if (!ctx.input_value(1) || (fused_ && !ctx.input_value(2))) filter_varies_ = true;
  ctx.set_output(0, DType::kFloat32,
                 window_output_shape(ctx, in, filter.dim(0), filter.dim(1), out_c, attrs_));
}

kernels::ConvShape Convolution::conv_shape(const ComputeContext& ctx) const {
  const Tensor& f = ctx.input(1);
  const int64_t out_c = kind_ == ConvKind::kDepthwise ? f.dim(2) * f.dim(3) : f.dim(3);
  return ops::conv_shape(ctx.input(0).shape(), f.dim(0), f.dim(1), out_c, attrs_);
}

std::span<const float> Convolution::bias(const ComputeContext& ctx) const {
  return fused_ ? ctx.input(2).data<float>() : std::span<const float>();
}

bool Convolution::run_onednn(ComputeContext& ctx, const kernels::ConvShape& s) const {
  if (backend_ != Backend::kOneDnn || filter_varies_) return false;
  const Tensor& filter = ctx.input(1);
  auto make = [&] {
    return kernels::onednn::Conv2dPrimitive(s, kind_, filter.data<float>(), bias(ctx), activation_);
  };
  onednn_.get(filter, s, make)->run(ctx.input(0).data<float>(), ctx.output(0).data<float>());
  return true;
}

}  // namespace poet::ops
