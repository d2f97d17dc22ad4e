// CheckNumerics: TensorFlow's guard after each layer of Inception v3 2015. Without
// --check_numerics the optimiser removes it as it removes an Identity.
#include <cmath>

#include "engine/ops/registry.h"

namespace poet::ops {
namespace {

// Fails when its float input holds a NaN or an infinity. Checking costs a pass over each
// activation, so it is on only with ExecOptions::check_numerics.
class CheckNumerics final : public Op {
 public:
  CheckNumerics(const Node& node, bool enabled)
      : message_(node.attr_string("message", "")), enabled_(enabled) {}
  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1);
    ctx.expect_dtype(0, DType::kFloat32);
    ctx.set_output(0, DType::kFloat32, ctx.input_shape(0));
  }
  void compute(ComputeContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    if (enabled_) {
      for (float v : x.data<float>()) {
        if (!std::isfinite(v))
          ctx.fail(message_, " : Tensor had ", std::isnan(v) ? "NaN" : "Inf", " values");
      }
    }
    ctx.set_output(0, x);
  }

 private:
  std::string message_;
  bool enabled_;
};

std::unique_ptr<Op> make_check_numerics(const Node& node, const OpOptions& options) {
  return std::make_unique<CheckNumerics>(node, options.check_numerics);
}

POET_REGISTER_OP("CheckNumerics", make_check_numerics,
                 {.inputs = {"T"}, .attrs = {"T", "message"}});

}  // namespace
}  // namespace poet::ops
