// Placeholder: a tensor the caller feeds. PlaceholderWithDefault: the same, but when not fed
// it passes its input through (retrain.py's bottleneck input).
#include "engine/ops/registry.h"

namespace poet::ops {
namespace {

class Placeholder final : public Op {
 public:
  explicit Placeholder(const Node& node)
      : dtype_(node.attr_type("dtype")),
        shape_(node.has_attr("shape") ? node.attr_shape("shape") : PartialShape::unknown()) {}
  bool foldable() const override { return false; }
  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(0);
    ctx.set_output(0, dtype_, shape_);
  }
  void compute(ComputeContext& ctx) const override { ctx.fail("was not fed"); }

 private:
  DType dtype_;
  PartialShape shape_;
};

class PlaceholderWithDefault final : public Op {
 public:
  explicit PlaceholderWithDefault(const Node& node) : dtype_(node.attr_type("dtype")) {}
  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1);
    ctx.expect_dtype(0, dtype_);
    ctx.set_output(0, dtype_, ctx.input_shape(0));
  }
  void compute(ComputeContext& ctx) const override { ctx.set_output(0, ctx.input(0)); }

 private:
  DType dtype_;
};

std::unique_ptr<Op> make_placeholder(const Node& node, const OpOptions&) {
  return std::make_unique<Placeholder>(node);
}

std::unique_ptr<Op> make_placeholder_with_default(const Node& node, const OpOptions&) {
  return std::make_unique<PlaceholderWithDefault>(node);
}

POET_REGISTER_OP("Placeholder", make_placeholder);
POET_REGISTER_OP("PlaceholderWithDefault", make_placeholder_with_default);

}  // namespace
}  // namespace poet::ops
