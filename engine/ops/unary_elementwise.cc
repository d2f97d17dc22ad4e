// Rsqrt, Relu, Relu6: float32 functions applied to each element. Relu and Relu6 run the SIMD
// kernel for the active ISA unless the backend is kReference.
#include "kernels/ref/unary_elementwise.h"
#include "engine/ops/registry.h"
#include "kernels/x86/elementwise.h"

namespace poet::ops {
namespace {

using kernels::ref::UnaryOp;

class UnaryElementwise final : public Op {
 public:
  UnaryElementwise(UnaryOp op, const OpOptions& options)
      : op_(op), reference_(options.backend == Backend::kReference) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1);
    ctx.expect_dtype(0, DType::kFloat32);
    ctx.set_output(0, DType::kFloat32, ctx.input_shape(0));
  }

  void compute(ComputeContext& ctx) const override {
    if (!reference_ && op_ != UnaryOp::kRsqrt) {
      namespace x86 = kernels::x86;
      const auto act =
          op_ == UnaryOp::kRelu ? kernels::Activation::kRelu : kernels::Activation::kRelu6;
      x86::activation(x86::active_isa(), act, ctx.input(0).data<float>(),
                      ctx.output(0).data<float>(), ctx.pool());
      return;
    }
    kernels::ref::unary_elementwise(op_, ctx.input(0).data<float>(), ctx.output(0).data<float>());
  }

  int64_t flops(std::span<const TensorInfo>, std::span<const TensorInfo> out) const override {
    return num_elements(out[0].shape.dims);
  }

 private:
  UnaryOp op_;
  bool reference_;
};

template <UnaryOp op>
std::unique_ptr<Op> make(const Node&, const OpOptions& options) {
  return std::make_unique<UnaryElementwise>(op, options);
}

// TensorFlow defines every one of these ops alike.
const Signature kUnary{.inputs = {"T"}, .attrs = {"T"}};

POET_REGISTER_OP("Rsqrt", make<UnaryOp::kRsqrt>, kUnary);
POET_REGISTER_OP("Relu", make<UnaryOp::kRelu>, kUnary);
POET_REGISTER_OP("Relu6", make<UnaryOp::kRelu6>, kUnary);

}  // namespace
}  // namespace poet::ops
