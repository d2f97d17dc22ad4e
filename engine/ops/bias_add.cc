// BiasAdd (and the older BiasAddV1): value [..., C] plus bias [C], NHWC only.
#include "kernels/ref/bias_add.h"
#include "engine/ops/registry.h"

namespace poet::ops {
namespace {

class BiasAdd final : public Op {
 public:
  explicit BiasAdd(const Node& node) {
    std::string format = node.attr_string("data_format", "NHWC");
    if (format != "NHWC")
      fail(node.describe(), ": data_format '", format, "' is not supported (only NHWC)");
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2);
    ctx.expect_dtype(0, DType::kFloat32);
    ctx.expect_dtype(1, DType::kFloat32);
    ctx.expect_rank(1, 1);
    PartialShape shape = ctx.input_shape(0);
    const int64_t channels = ctx.input_shape(1).dim(0);
    if (shape.known_rank) {
      if (shape.rank() < 2) ctx.fail("input 0 has shape ", shape.str(), ", expected rank >= 2");
      int64_t& last = shape.dims.back();
      if (last >= 0 && channels >= 0 && last != channels)
        ctx.fail("bias has ", channels, " elements but the value ", shape.str(), " has ", last,
                 " channels");
      if (last < 0) last = channels;
    }
    ctx.set_output(0, DType::kFloat32, std::move(shape));
  }

  void compute(ComputeContext& ctx) const override {
    kernels::ref::bias_add(ctx.input(0).data<float>(), ctx.input(1).data<float>(),
                           ctx.output(0).data<float>());
  }

  int64_t flops(std::span<const TensorInfo>, std::span<const TensorInfo> out) const override {
    return num_elements(out[0].shape.dims);
  }
};

std::unique_ptr<Op> make_bias_add(const Node& node, const OpOptions&) {
  return std::make_unique<BiasAdd>(node);
}

POET_REGISTER_OP("BiasAdd", make_bias_add, {.inputs = {"T", "T"}, .attrs = {"T", "data_format"}});
POET_REGISTER_OP("BiasAddV1", make_bias_add, {.inputs = {"T", "T"}, .attrs = {"T"}});

}  // namespace
}  // namespace poet::ops
