// Dequantize: quint8 values plus scalar float min_range and max_range inputs to float32, in
// mode MIN_COMBINED or MIN_FIRST (the mode TensorFlow's quantize_graph writes for weights).
#include "kernels/ref/dequantize.h"
#include "engine/ops/registry.h"

namespace poet::ops {
namespace {

class Dequantize final : public Op {
 public:
  explicit Dequantize(const Node& node) {
    std::string mode = node.attr_string("mode", "MIN_COMBINED");
    if (mode == "MIN_FIRST") {
      min_first_ = true;
    } else if (mode != "MIN_COMBINED") {
      fail(node.describe(), ": mode '", mode, "' is not supported (MIN_COMBINED or MIN_FIRST)");
    }
    DType t = node.attr_type("T", DType::kQUInt8);
    if (t != DType::kQUInt8)
      fail(node.describe(), ": T is ", dtype_name(t), "; only quint8 is supported");
    DType out = node.attr_type("dtype", DType::kFloat32);
    if (out != DType::kFloat32)
      fail(node.describe(), ": output dtype ", dtype_name(out), " is not supported (float32)");
    int64_t axis = node.attr_int("axis", -1);
    if (axis != -1)
      fail(node.describe(), ": per-channel ranges (axis ", axis, ") are not supported");
    node.attr_bool("narrow_range", false);  // only affects mode SCALED
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(3);
    ctx.expect_dtype(0, DType::kQUInt8);
    for (int i : {1, 2}) {
      ctx.expect_dtype(i, DType::kFloat32);
      const PartialShape& s = ctx.input_shape(i);
      if (s.fully_known() && num_elements(s.dims) != 1)
        ctx.fail(i == 1 ? "min_range" : "max_range", " has shape ", s.str(),
                 ", expected a single value");
    }
    ctx.set_output(0, DType::kFloat32, ctx.input_shape(0));
  }

  void compute(ComputeContext& ctx) const override {
    const float min_range = ctx.input(1).data<float>()[0];
    const float max_range = ctx.input(2).data<float>()[0];
    auto in = ctx.input(0).data<uint8_t>();
    auto out = ctx.output(0).data<float>();
    if (min_first_) {
      kernels::ref::dequantize_min_first(in, min_range, max_range, out);
    } else {
      kernels::ref::dequantize_min_combined(in, min_range, max_range, out);
    }
  }

  int64_t flops(std::span<const TensorInfo>, std::span<const TensorInfo> out) const override {
    return num_elements(out[0].shape.dims);
  }

 private:
  bool min_first_ = false;
};

std::unique_ptr<Op> make_dequantize(const Node& node, const OpOptions&) {
  return std::make_unique<Dequantize>(node);
}

POET_REGISTER_OP("Dequantize", make_dequantize,
                 {.inputs = {"T", "float32", "float32"},
                  .attrs = {"T", "mode", "narrow_range", "axis", "dtype"}});

}  // namespace
}  // namespace poet::ops
