// _FusedDepthwisePointwise: a _FusedDepthwiseConv2dNative of multiplier 1 and the 1x1, stride-1
// _FusedConv2D that alone reads it (MobileNet's pairs), made one node by the optimiser for the
// native backend (engine/optimize/depthwise_pointwise.cc). Inputs: x (NHWC), the depthwise
// filter [kh, kw, C, 1] and bias [C], the 1x1 filter [1, 1, C, C'] and bias [C']. Attributes:
// the depthwise layer's (strides, padding, dilations, fused_ops) and `pointwise_fused_ops`, the
// 1x1 layer's epilogue. The SIMD ISAs run kernels/x86/depthwise_pointwise_nhwc.h (a few rows at
// a time through both kernels) on weights packed once; the reference ISA runs the two
// reference kernels in turn.
#include <atomic>
#include <memory>
#include <vector>

#include "engine/ops/conv_attrs.h"
#include "engine/ops/prepared_cache.h"
#include "engine/ops/registry.h"
#include "engine/thread_pool.h"
#include "kernels/ref/conv2d.h"
#include "kernels/ref/depthwise_conv2d.h"
#include "kernels/x86/depthwise_pointwise_nhwc.h"

namespace poet::ops {
namespace {

namespace x86 = kernels::x86;

class FusedDepthwisePointwise final : public Op {
 public:
  FusedDepthwisePointwise(const Node& node, const OpOptions& options)
      : backend_(options.backend_for(node.op)),
        attrs_(read_window_attrs(node, /*pooling=*/false)),
        depthwise_act_(read_fused_activation(node)),
        pointwise_act_(read_fused_activation(node, "pointwise_fused_ops")) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(5);
    for (int i = 0; i < 5; ++i) ctx.expect_dtype(i, DType::kFloat32);
    for (int i : {0, 1, 3}) ctx.expect_rank(i, 4);
    for (int i : {2, 4}) ctx.expect_rank(i, 1);
    const PartialShape& in = ctx.input_shape(0);
    const PartialShape& dw = ctx.input_shape(1);
    const PartialShape& pw = ctx.input_shape(3);
    const int64_t c = dw.dim(2);
    if (dw.dim(3) != 1 || pw.dim(0) != 1 || pw.dim(1) != 1 || c < 0 || in.dim(3) != c ||
        pw.dim(2) != c || ctx.input_shape(2).dim(0) != c || ctx.input_shape(4).dim(0) != pw.dim(3))
      ctx.fail("input ", in.str(), ", depthwise filter ", dw.str(), " and bias ",
               ctx.input_shape(2).str(), ", 1x1 filter ", pw.str(), " and bias ",
               ctx.input_shape(4).str(), " do not make a depthwise and 1x1 pair");
    for (int i = 1; i < 5; ++i)
      if (!ctx.input_value(i)) weights_vary_ = true;
    ctx.set_output(0, DType::kFloat32,
                   window_output_shape(in, dw.dim(0), dw.dim(1), pw.dim(3), attrs_));
  }

  void compute(ComputeContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& dw_filter = ctx.input(1);
    const Tensor& pw_filter = ctx.input(3);
    const std::span<const float> dw_bias = ctx.input(2).data<float>();
    const std::span<const float> pw_bias = ctx.input(4).data<float>();
    const kernels::ConvShape d =
        conv_shape(x.shape(), dw_filter.dim(0), dw_filter.dim(1), dw_filter.dim(2), attrs_);
    std::span<float> out = ctx.output(0).data<float>();
    if (out.empty()) return;
    const x86::Isa isa = backend_ == Backend::kReference ? x86::Isa::kRef : x86::active_isa();
    // No input channels (the 1x1 layer then gives its bias) run the reference too: the SIMD
    // depthwise kernel needs some.
    if (isa == x86::Isa::kRef || !x86::depthwise_conv2d_nhwc_vectorised(d)) {
      std::vector<float> depthwise(static_cast<size_t>(d.output_size()));
      kernels::ref::depthwise_conv2d(d, x.data<float>(), dw_filter.data<float>(), dw_bias,
                                     depthwise_act_, depthwise);
      kernels::ref::conv2d(x86::pointwise_after(d, pw_filter.dim(3)), depthwise,
                           pw_filter.data<float>(), pw_bias, pointwise_act_, out);
      return;
    }
    // Packed once per constant filter and bias (the optimiser's pairs), on every run when fed.
    const auto pack_dw = [&] {
      return x86::pack_depthwise_weights(d.k_h, d.k_w, d.out_c, dw_filter.data<float>(), dw_bias);
    };
    const auto pack_pw = [&] {
      return x86::pack_conv_filter(isa, 1, 1, pw_filter.dim(2), pw_filter.dim(3),
                                   pw_filter.data<float>());
    };
    const auto dw = depthwise_.get_unless_fed(dw_filter, dw_bias.data(), weights_vary_, pack_dw);
    const auto pw = pointwise_.get_unless_fed(pw_filter, isa, weights_vary_, pack_pw);
    const int threads = pool_threads(ctx.pool());
    const auto plan = plans_.get(x86::DepthwisePointwisePlan::Key{d, pw->out_c, isa, threads},
                                 [&] { return x86::DepthwisePointwisePlan(d, *pw, threads); });
    x86::depthwise_pointwise_nhwc(*plan, x.data<float>(), *dw, depthwise_act_, *pw, pw_bias,
                                  pointwise_act_, out, ctx.pool());
  }

  // The two convolutions' counts (engine/ops/depthwise_conv2d.cc, conv2d.cc).
  int64_t flops(std::span<const TensorInfo> in, std::span<const TensorInfo> out) const override {
    const Shape& dw = in[1].shape.dims;
    const Shape& o = out[0].shape.dims;
    const int64_t depthwise_outputs = o[0] * o[1] * o[2] * dw[2];
    return depthwise_outputs * (2 * dw[0] * dw[1] + 1) + 2 * num_elements(o) * dw[2];
  }

 private:
  const Backend backend_;
  const WindowAttrs attrs_;
  const kernels::Activation depthwise_act_, pointwise_act_;
  // Set at load when a filter or bias is fed: nothing packed from them can be reused.
  mutable std::atomic<bool> weights_vary_ = false;
  PreparedCache<const float*, x86::PackedDepthwiseWeights> depthwise_;  // keyed by the bias
  PreparedCache<x86::Isa, x86::PackedConvFilter> pointwise_;
  ShapeCache<x86::DepthwisePointwisePlan> plans_;
};

std::unique_ptr<Op> make_fused_depthwise_pointwise(const Node& node, const OpOptions& options) {
  return std::make_unique<FusedDepthwisePointwise>(node, options);
}

POET_REGISTER_OP("_FusedDepthwisePointwise", make_fused_depthwise_pointwise);

}  // namespace
}  // namespace poet::ops
