// Identity, CheckNumerics and NoOp: graph plumbing that computes nothing.
#include <cmath>

#include "engine/ops/registry.h"

namespace poet::ops {
namespace {

class Identity final : public Op {
 public:
  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1);
    ctx.set_output(0, ctx.input(0).dtype, ctx.input_shape(0));
    if (const Tensor* v = ctx.input_value(0)) ctx.set_output_value(0, *v);
  }
  void compute(ComputeContext& ctx) const override { ctx.set_output(0, ctx.input(0)); }
};

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

class NoOp final : public Op {
 public:
  int num_outputs() const override { return 0; }
  void infer(InferContext&) const override {}
  void compute(ComputeContext&) const override {}
};

std::unique_ptr<Op> make_identity(const Node&, const OpOptions&) {
  return std::make_unique<Identity>();
}

std::unique_ptr<Op> make_check_numerics(const Node& node, const OpOptions& options) {
  return std::make_unique<CheckNumerics>(node, options.check_numerics);
}

std::unique_ptr<Op> make_no_op(const Node&, const OpOptions&) { return std::make_unique<NoOp>(); }

POET_REGISTER_OP("Identity", make_identity, {.inputs = {"T"}, .attrs = {"T"}});
POET_REGISTER_OP("CheckNumerics", make_check_numerics,
                 {.inputs = {"T"}, .attrs = {"T", "message"}});
POET_REGISTER_OP("NoOp", make_no_op, {.inputs = {}, .attrs = {}});

}  // namespace
}  // namespace poet::ops
