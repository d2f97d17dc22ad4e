// Cast: converts each element from SrcT to DstT (float, half, int32, int64, uint8, bool).
#include "kernels/ref/cast.h"
#include "engine/ops/registry.h"

namespace poet::ops {
namespace {

class Cast final : public Op {
 public:
  explicit Cast(const Node& node)
      : src_(node.attr_type("SrcT", DType::kInvalid)), dst_(node.attr_type("DstT")) {
    // Truncate changes only casts to bfloat16 in TensorFlow, a type poet does not have: it
    // is read (so a bad value is reported) and otherwise has no effect.
    node.attr_bool("Truncate", false);
    for (DType t : {src_, dst_}) {
      if (t != DType::kInvalid && !kernels::ref::castable(t))
        fail(node.describe(), ": cannot cast ", t == src_ ? "from " : "to ", dtype_name(t),
             " (supported: float32, float16, int32, int64, uint8, bool)");
    }
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1);
    // That the input is of type SrcT is check_input_types' (engine/ops/registry.cc).
    DType in = ctx.input(0).dtype;
    if (!kernels::ref::castable(in)) ctx.fail("cannot cast from ", dtype_name(in));
    ctx.set_output(0, dst_, ctx.input_shape(0));
  }

  void compute(ComputeContext& ctx) const override {
    kernels::ref::cast(ctx.input(0), ctx.output(0));
  }

  int64_t flops(std::span<const TensorInfo>, std::span<const TensorInfo> out) const override {
    return num_elements(out[0].shape.dims);
  }

 private:
  DType src_, dst_;
};

std::unique_ptr<Op> make_cast(const Node& node, const OpOptions&) {
  return std::make_unique<Cast>(node);
}

POET_REGISTER_OP("Cast", make_cast, {.inputs = {"SrcT"}, .attrs = {"SrcT", "DstT", "Truncate"}});

}  // namespace
}  // namespace poet::ops
