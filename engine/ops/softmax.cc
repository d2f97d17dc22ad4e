// Softmax: normalised exponentials over the last axis of float32 logits. Backend kReference
// runs kernels/ref/softmax; the others the SIMD kernel of the active ISA.
#include "kernels/x86/softmax.h"
#include "engine/ops/registry.h"

namespace poet::ops {
namespace {

namespace x86 = kernels::x86;

class Softmax final : public Op {
 public:
  explicit Softmax(const OpOptions& options) : backend_(options.backend) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1);
    ctx.expect_dtype(0, DType::kFloat32);
    const PartialShape& shape = ctx.input_shape(0);
    if (shape.known_rank && shape.rank() < 1) ctx.fail("logits must have rank >= 1, got a scalar");
    ctx.set_output(0, DType::kFloat32, shape);
  }

  void compute(ComputeContext& ctx) const override {
    const Tensor& logits = ctx.input(0);
    const x86::Isa isa = backend_ == Backend::kReference ? x86::Isa::kRef : x86::active_isa();
    x86::softmax(isa, logits.data<float>(), logits.dim(-1), ctx.output(0).data<float>(),
                 ctx.pool());
  }

 private:
  Backend backend_;
};

std::unique_ptr<Op> make_softmax(const Node&, const OpOptions& options) {
  return std::make_unique<Softmax>(options);
}

POET_REGISTER_OP("Softmax", make_softmax, {.inputs = {"T"}, .attrs = {"T"}});

}  // namespace
}  // namespace poet::ops
