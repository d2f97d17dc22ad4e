// Softmax: normalised exponentials over the last axis of float32 logits.
#include "kernels/ref/softmax.h"
#include "engine/ops/registry.h"

namespace poet::ops {
namespace {

class Softmax final : public Op {
 public:
  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1);
    ctx.expect_dtype(0, DType::kFloat32);
    const PartialShape& shape = ctx.input_shape(0);
    if (shape.known_rank && shape.rank() < 1) ctx.fail("logits must have rank >= 1, got a scalar");
    ctx.set_output(0, DType::kFloat32, shape);
  }

  void compute(ComputeContext& ctx) const override {
    const Tensor& logits = ctx.input(0);
    kernels::ref::softmax(logits.data<float>(), logits.dim(-1), ctx.output(0).data<float>());
  }
};

std::unique_ptr<Op> make_softmax(const Node&, const OpOptions&) {
  return std::make_unique<Softmax>();
}

POET_REGISTER_OP("Softmax", make_softmax);

}  // namespace
}  // namespace poet::ops
