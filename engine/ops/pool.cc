// MaxPool and AvgPool over NHWC windows (ksize, strides, SAME/VALID), and the optimiser's
// _FusedAvgPool: an AvgPool whose `fused_ops` ["Relu"] or ["Relu6"] clamps its results
// (engine/optimize/pool_after_conv.cc). Backend kReference runs kernels/ref/pool; kNative the
// SIMD kernel for the active ISA; kOneDnn a oneDNN pooling primitive built once per input
// shape, then the activation.
#include "kernels/onednn/pool.h"
#include "engine/ops/conv_attrs.h"
#include "engine/ops/prepared_cache.h"
#include "engine/ops/registry.h"
#include "kernels/x86/elementwise.h"
#include "kernels/x86/pool_nhwc.h"

namespace poet::ops {
namespace {

namespace x86 = kernels::x86;
namespace onednn = kernels::onednn;
using x86::PoolKind;

class Pool final : public Op {
 public:
  Pool(const Node& node, const OpOptions& options, PoolKind kind,
       kernels::Activation act = kernels::Activation::kNone)
      : attrs_(read_window_attrs(node, /*pooling=*/true)),
        kind_(kind),
        act_(act),
        backend_(options.backend) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1);
    ctx.expect_dtype(0, DType::kFloat32);
    ctx.expect_rank(0, 4);
    const PartialShape& in = ctx.input_shape(0);
    ctx.set_output(0, DType::kFloat32,
                   window_output_shape(ctx, in, attrs_.k_h, attrs_.k_w, in.dim(3), attrs_));
  }

  void compute(ComputeContext& ctx) const override {
    const Tensor& in = ctx.input(0);
    kernels::ConvShape s = conv_shape(in.shape(), attrs_.k_h, attrs_.k_w, in.dim(3), attrs_);
    if (backend_ == Backend::kOneDnn) {
      onednn_
          .get(s,
               [&] {
                 return onednn::Pool2dPrimitive(s, kind_ == PoolKind::kMax
                                                       ? onednn::PoolKind::kMax
                                                       : onednn::PoolKind::kAverage);
               })
          ->run(in.data<float>(), ctx.output(0).data<float>());
      if (act_ != kernels::Activation::kNone) {
        std::span<float> out = ctx.output(0).data<float>();
        x86::activation(x86::active_isa(), act_, out, out, ctx.pool());
      }
      return;
    }
    s.out_stride = ctx.output_pixel_stride();
    const x86::Isa isa = backend_ == Backend::kReference ? x86::Isa::kRef : x86::active_isa();
    x86::pool_nhwc(isa, kind_, s, in.data<float>(), ctx.output_floats(s.output_size()), ctx.pool(),
                   act_);
  }

  // The reference and native kernels write any pixel stride; a oneDNN primitive a dense output.
  bool writes_channel_slices() const override { return backend_ != Backend::kOneDnn; }

  // One comparison or addition per window cell.
  int64_t flops(std::span<const TensorInfo>, std::span<const TensorInfo> out) const override {
    return num_elements(out[0].shape.dims) * attrs_.k_h * attrs_.k_w;
  }

 private:
  WindowAttrs attrs_;
  PoolKind kind_;
  kernels::Activation act_;
  Backend backend_;
  ShapeCache<onednn::Pool2dPrimitive> onednn_;
};

std::unique_ptr<Op> make_max_pool(const Node& node, const OpOptions& options) {
  return std::make_unique<Pool>(node, options, PoolKind::kMax);
}

std::unique_ptr<Op> make_avg_pool(const Node& node, const OpOptions& options) {
  return std::make_unique<Pool>(node, options, PoolKind::kAvg);
}

std::unique_ptr<Op> make_fused_avg_pool(const Node& node, const OpOptions& options) {
  return std::make_unique<Pool>(node, options, PoolKind::kAvg, read_fused_pool_activation(node));
}

POET_REGISTER_OP("MaxPool", make_max_pool,
                 {.inputs = {"T"},
                  .attrs = {"T", "ksize", "strides", "padding", "explicit_paddings",
                            "data_format"}});
POET_REGISTER_OP("AvgPool", make_avg_pool,
                 {.inputs = {"T"}, .attrs = {"ksize", "strides", "padding", "data_format", "T"}});
POET_REGISTER_OP("_FusedAvgPool", make_fused_avg_pool);

}  // namespace
}  // namespace poet::ops
