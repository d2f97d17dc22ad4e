// Const: a value stored in the graph (the weights of a frozen graph).
#include "engine/ops/registry.h"

namespace poet::ops {
namespace {

class Const final : public Op {
 public:
  explicit Const(const Node& node) : value_(node.attr_tensor("value")) {
    DType declared = node.attr_type("dtype", value_.dtype());
    if (declared != value_.dtype())
      fail(node.describe(), ": dtype attribute is ", dtype_name(declared), " but the value is ",
           dtype_name(value_.dtype()));
  }
  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(0);
    ctx.set_output_value(0, value_);
  }
  void compute(ComputeContext& ctx) const override { ctx.set_output(0, value_); }

 private:
  Tensor value_;
};

std::unique_ptr<Op> make_const(const Node& node, const OpOptions&) {
  return std::make_unique<Const>(node);
}

POET_REGISTER_OP("Const", make_const, {.inputs = {}, .attrs = {"value", "dtype"}});

}  // namespace
}  // namespace poet::ops
