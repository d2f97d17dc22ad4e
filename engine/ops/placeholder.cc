// Placeholder: a tensor the caller feeds. PlaceholderWithDefault: the same, but when not fed
// it passes its input through (retrain.py's bottleneck input).
#include "engine/ops/registry.h"

namespace poet::ops {
namespace {

class Placeholder final : public Op {
 public:
  explicit Placeholder(const Node& node)
      : dtype_(node.attr_type("dtype")),
        shape_(node.attr_shape("shape", PartialShape::unknown())) {}
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
  explicit PlaceholderWithDefault(const Node& node)
      : dtype_(node.attr_type("dtype")),
        shape_(node.attr_shape("shape", PartialShape::unknown())) {}
  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1);
    ctx.expect_dtype(0, dtype_);
    // As TensorFlow's shape function: the default must fit the declared shape. The output keeps
    // the default's shape, which may be more precise; a feed replaces the node altogether.
    if (!ctx.input_shape(0).compatible_with(shape_))
      ctx.fail("its default has shape ", ctx.input_shape(0).str(), ", attribute shape says ",
               shape_.str());
    ctx.set_output(0, dtype_, ctx.input_shape(0));
  }
  void compute(ComputeContext& ctx) const override { ctx.set_output(0, ctx.input(0)); }

 private:
  DType dtype_;
  PartialShape shape_;
};

std::unique_ptr<Op> make_placeholder(const Node& node, const OpOptions&) {
  return std::make_unique<Placeholder>(node);
}

std::unique_ptr<Op> make_placeholder_with_default(const Node& node, const OpOptions&) {
  return std::make_unique<PlaceholderWithDefault>(node);
}

POET_REGISTER_OP("Placeholder", make_placeholder, {.inputs = {}, .attrs = {"dtype", "shape"}});
POET_REGISTER_OP("PlaceholderWithDefault", make_placeholder_with_default,
                 {.inputs = {"dtype"}, .attrs = {"dtype", "shape"}});

}  // namespace
}  // namespace poet::ops
