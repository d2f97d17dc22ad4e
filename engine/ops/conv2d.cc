// Conv2D and _FusedConv2D (Conv2D + BiasAdd [+ Relu | Relu6], which the optimiser makes from
// a convolution and the batch norm and activation after it): NHWC input, HWIO filter.
// Backends: kReference runs kernels/ref/conv2d; kNative the SIMD kernel for the active ISA on
// a filter packed once; kOneDnn a oneDNN primitive built once per layer shape. Both prepared
// forms are cached while the filter is a constant, as it is in every frozen graph.
#include <atomic>

#include "engine/ops/conv_attrs.h"
#include "engine/ops/prepared_cache.h"
#include "engine/ops/registry.h"
#include "kernels/onednn/conv2d.h"
#include "kernels/ref/conv2d.h"
#include "kernels/x86/conv2d_nhwc.h"

namespace poet::ops {
namespace {

namespace x86 = kernels::x86;
namespace onednn = kernels::onednn;

class Conv2D final : public Op {
 public:
  Conv2D(const Node& node, const OpOptions& options, bool fused)
      : attrs_(read_window_attrs(node, /*pooling=*/false)),
        backend_(options.backend),
        fused_(fused),
        activation_(fused ? read_fused_activation(node) : kernels::Activation::kNone) {}

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
    if (fused_) {
      ctx.expect_rank(2, 1);
      const PartialShape& bias = ctx.input_shape(2);
      if (bias.dim(0) >= 0 && filter.dim(3) >= 0 && bias.dim(0) != filter.dim(3))
        ctx.fail("bias ", bias.str(), " does not match the filter's ", filter.dim(3),
                 " output channels");
    }
    // A filter (or fused bias) ever unknown at inference is fed: nothing prepared can be reused.
    if (!ctx.input_value(1) || (fused_ && !ctx.input_value(2))) filter_varies_ = true;
    ctx.set_output(0, DType::kFloat32,
                   Shape{in.dim(0),
                         window_output_size(in.dim(1), filter.dim(0), attrs_.stride_h,
                                            attrs_.dilation_h, attrs_.padding),
                         window_output_size(in.dim(2), filter.dim(1), attrs_.stride_w,
                                            attrs_.dilation_w, attrs_.padding),
                         filter.dim(3)});
  }

  void compute(ComputeContext& ctx) const override {
    const Tensor& filter = ctx.input(1);
    kernels::ConvShape s =
        conv_shape(ctx.input(0).shape(), filter.dim(0), filter.dim(1), filter.dim(3), attrs_);
    std::span<const float> in = ctx.input(0).data<float>();
    std::span<const float> bias = fused_ ? ctx.input(2).data<float>() : std::span<const float>();
    std::span<float> out = ctx.output(0).data<float>();
    if (backend_ == Backend::kOneDnn && !filter_varies_) {
      onednn_
          .get(filter, s,
               [&] {
                 return onednn::Conv2dPrimitive(s, onednn::ConvKind::kDense, filter.data<float>(),
                                                bias, activation_);
               })
          ->run(in, out);
      return;
    }
    x86::Isa isa = backend_ == Backend::kReference ? x86::Isa::kRef : x86::active_isa();
    if (isa == x86::Isa::kRef) {
      kernels::ref::conv2d(s, in, filter.data<float>(), bias, activation_, out);
      return;
    }
    auto pack = [&] {
      return x86::pack_conv_filter(isa, filter.dim(0), filter.dim(1), filter.dim(2), filter.dim(3),
                                   filter.data<float>());
    };
    std::shared_ptr<const x86::PackedConvFilter> packed;
    if (adopted_ && adopted_->isa == isa) {
      packed = adopted_;
    } else if (filter.released()) {
      ctx.fail("the filter was packed for ", x86::isa_name(adopted_->isa),
               " at load and released; the active ISA is now ", x86::isa_name(isa));
    } else {
      packed = filter_varies_ ? std::make_shared<const x86::PackedConvFilter>(pack())
                              : packed_.get(filter, isa, pack);
    }
    x86::conv2d_nhwc(s, in, *packed, bias, activation_, out, ctx.pool());
  }

  // The native kernel packs a constant filter once at load; the original can then go.
  bool adopt_constant(int i, std::span<const TensorInfo* const> inputs) const override {
    const x86::Isa isa = x86::active_isa();
    if (i != 1 || backend_ != Backend::kNative || isa == x86::Isa::kRef) return false;
    const Tensor& f = *inputs[1]->value;
    if (f.rank() != 4) return false;  // infer reports it at run time
    adopted_ = std::make_shared<const x86::PackedConvFilter>(
        x86::pack_conv_filter(isa, f.dim(0), f.dim(1), f.dim(2), f.dim(3), f.data<float>()));
    return true;
  }

  int64_t flops(std::span<const TensorInfo> in, std::span<const TensorInfo> out) const override {
    const Shape& f = in[1].shape.dims;
    return 2 * num_elements(out[0].shape.dims) * f[0] * f[1] * f[2];
  }

 private:
  WindowAttrs attrs_;
  Backend backend_;
  bool fused_;
  kernels::Activation activation_;
  mutable std::atomic<bool> filter_varies_ = false;
  PreparedCache<x86::Isa, x86::PackedConvFilter> packed_;
  // Packed at load by adopt_constant (set before any run, read-only after).
  mutable std::shared_ptr<const x86::PackedConvFilter> adopted_;
  // The oneDNN primitive bakes in the bias too: in a frozen graph it is as constant as the
  // filter, and the optimiser made both together.
  PreparedCache<kernels::ConvShape, onednn::Conv2dPrimitive> onednn_;
};

std::unique_ptr<Op> make_conv2d(const Node& node, const OpOptions& options) {
  return std::make_unique<Conv2D>(node, options, /*fused=*/false);
}

std::unique_ptr<Op> make_fused_conv2d(const Node& node, const OpOptions& options) {
  return std::make_unique<Conv2D>(node, options, /*fused=*/true);
}

POET_REGISTER_OP("Conv2D", make_conv2d);
POET_REGISTER_OP("_FusedConv2D", make_fused_conv2d);

}  // namespace
}  // namespace poet::ops
