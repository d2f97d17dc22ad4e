// MaxPool and AvgPool over NHWC windows (ksize, strides, SAME/VALID).
#include "kernels/ref/pool.h"
#include "engine/ops/conv_attrs.h"
#include "engine/ops/registry.h"

namespace poet::ops {
namespace {

enum class PoolKind { kMax, kAvg };

class Pool final : public Op {
 public:
  Pool(const Node& node, PoolKind kind)
      : attrs_(read_window_attrs(node, /*pooling=*/true)), kind_(kind) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1);
    ctx.expect_dtype(0, DType::kFloat32);
    ctx.expect_rank(0, 4);
    const PartialShape& in = ctx.input_shape(0);
    ctx.set_output(
        0, DType::kFloat32,
        Shape{in.dim(0),
              window_output_size(in.dim(1), attrs_.k_h, attrs_.stride_h, 1, attrs_.padding),
              window_output_size(in.dim(2), attrs_.k_w, attrs_.stride_w, 1, attrs_.padding),
              in.dim(3)});
  }

  void compute(ComputeContext& ctx) const override {
    const Tensor& in = ctx.input(0);
    kernels::ConvShape s = conv_shape(in.shape(), attrs_.k_h, attrs_.k_w, in.dim(3), attrs_);
    if (kind_ == PoolKind::kMax) {
      kernels::ref::max_pool(s, in.data<float>(), ctx.output(0).data<float>());
    } else {
      kernels::ref::avg_pool(s, in.data<float>(), ctx.output(0).data<float>());
    }
  }

  // One comparison or addition per window cell.
  int64_t flops(std::span<const TensorInfo>, std::span<const TensorInfo> out) const override {
    return num_elements(out[0].shape.dims) * attrs_.k_h * attrs_.k_w;
  }

 private:
  WindowAttrs attrs_;
  PoolKind kind_;
};

std::unique_ptr<Op> make_max_pool(const Node& node, const OpOptions&) {
  return std::make_unique<Pool>(node, PoolKind::kMax);
}

std::unique_ptr<Op> make_avg_pool(const Node& node, const OpOptions&) {
  return std::make_unique<Pool>(node, PoolKind::kAvg);
}

POET_REGISTER_OP("MaxPool", make_max_pool);
POET_REGISTER_OP("AvgPool", make_avg_pool);

}  // namespace
}  // namespace poet::ops
