// Conv2D and _FusedConv2D (Conv2D + BiasAdd [+ Relu | Relu6], which the optimiser makes from
// a convolution and the batch norm and activation after it): NHWC input, HWIO filter.
// Backends: kReference runs kernels/ref/conv2d; kNative the SIMD kernel for the active ISA on
// a filter packed once; kOneDnn a oneDNN primitive built once per layer shape. Both prepared
// forms are cached while the filter is a constant, as it is in every frozen graph.
#include <memory>

#include "engine/ops/convolution.h"
#include "engine/ops/registry.h"
#include "kernels/ref/conv2d.h"
#include "kernels/x86/conv2d_nhwc.h"

namespace poet::ops {
namespace {

namespace x86 = kernels::x86;

class Conv2D final : public Convolution {
 public:
  Conv2D(const Node& node, const OpOptions& options, bool fused)
      : Convolution(node, options, fused, kernels::onednn::ConvKind::kDense) {}

  void compute(ComputeContext& ctx) const override {
    const kernels::ConvShape s = conv_shape(ctx);
    if (run_onednn(ctx, s)) return;
    const Tensor& filter = ctx.input(1);
    std::span<const float> in = ctx.input(0).data<float>();
    std::span<float> out = ctx.output(0).data<float>();
    x86::Isa isa = backend_ == Backend::kReference ? x86::Isa::kRef : x86::active_isa();
    if (isa == x86::Isa::kRef) {
      kernels::ref::conv2d(s, in, filter.data<float>(), bias(ctx), activation_, out);
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
    x86::conv2d_nhwc(s, in, *packed, bias(ctx), activation_, out, ctx.pool());
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
  PreparedCache<x86::Isa, x86::PackedConvFilter> packed_;
  // Packed at load by adopt_constant (set before any run, read-only after).
  mutable std::shared_ptr<const x86::PackedConvFilter> adopted_;
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
