// Identity and NoOp: graph plumbing that computes nothing. (CheckNumerics, which forwards its
// input too but scans it first, is in check_numerics.cc.)
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

class NoOp final : public Op {
 public:
  int num_outputs() const override { return 0; }
  void infer(InferContext&) const override {}
  void compute(ComputeContext&) const override {}
};

std::unique_ptr<Op> make_identity(const Node&, const OpOptions&) {
  return std::make_unique<Identity>();
}

std::unique_ptr<Op> make_no_op(const Node&, const OpOptions&) { return std::make_unique<NoOp>(); }

POET_REGISTER_OP("Identity", make_identity, {.inputs = {"T"}, .attrs = {"T"}});
POET_REGISTER_OP("NoOp", make_no_op, {.inputs = {}, .attrs = {}});

}  // namespace
}  // namespace poet::ops
