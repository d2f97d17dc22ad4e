// Inference-time batch normalisation over the channel axis of NHWC data:
// BatchNormWithGlobalNormalization (the 2015-era op: t, m, v, beta, gamma) and
// FusedBatchNorm / FusedBatchNormV3 (x, scale, offset, mean, variance).
#include "kernels/ref/batch_norm.h"
#include "engine/ops/registry.h"

namespace poet::ops {
namespace {

// Where each operand sits among the op's inputs.
struct Operands {
  int mean, variance, scale, offset;
};

class BatchNorm : public Op {
 public:
  BatchNorm(Operands operands, float epsilon, bool use_scale)
      : operands_(operands), epsilon_(epsilon), use_scale_(use_scale) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(5);
    for (int i = 0; i < 5; ++i) ctx.expect_dtype(i, DType::kFloat32);
    ctx.expect_rank(0, 4);
    int64_t channels = ctx.input_shape(0).dim(3);
    for (int i = 1; i < 5; ++i) {
      ctx.expect_rank(i, 1);
      int64_t n = ctx.input_shape(i).dim(0);
      if (channels < 0) channels = n;
      if (n >= 0 && n != channels)
        ctx.fail("input ", i, " has shape ", ctx.input_shape(i).str(), " but there are ", channels,
                 " channels");
    }
    ctx.set_output(0, DType::kFloat32, ctx.input_shape(0));
    infer_statistics(ctx, channels);
  }

  void compute(ComputeContext& ctx) const override {
    auto operand = [&](int i) { return ctx.input(i).data<float>(); };
    kernels::ref::batch_norm(operand(0), operand(operands_.mean), operand(operands_.variance),
                             use_scale_ ? operand(operands_.scale) : std::span<const float>{},
                             operand(operands_.offset), epsilon_, ctx.output(0).data<float>());
    compute_statistics(ctx);
  }

  // A multiply and an add per element once the constants are folded.
  int64_t flops(std::span<const TensorInfo>, std::span<const TensorInfo> out) const override {
    return 2 * num_elements(out[0].shape.dims);
  }

 protected:
  const Operands& operands() const { return operands_; }
  // Outputs beyond y (FusedBatchNorm's statistics); none by default.
  virtual void infer_statistics(InferContext&, int64_t /*channels*/) const {}
  virtual void compute_statistics(ComputeContext&) const {}

 private:
  Operands operands_;
  float epsilon_;
  bool use_scale_;
};

class BatchNormWithGlobalNormalization final : public BatchNorm {
 public:
  explicit BatchNormWithGlobalNormalization(const Node& node)
      : BatchNorm({.mean = 1, .variance = 2, .scale = 4, .offset = 3},
                  required(node, "variance_epsilon", &Node::attr_float),
                  required(node, "scale_after_normalization", &Node::attr_bool)) {}

 private:
  // TensorFlow gives these attributes no default.
  template <class T>
  static T required(const Node& node, std::string_view key,
                    T (Node::*get)(std::string_view, T) const) {
    if (!node.has_attr(key)) fail(node.describe(), ": missing attribute '", key, "'");
    return (node.*get)(key, T{});
  }
};

// Inference only: the statistics outputs echo the given mean and variance (what TensorFlow
// returns for is_training false); V3's sixth output is an empty reserve space.
class FusedBatchNorm final : public BatchNorm {
 public:
  FusedBatchNorm(const Node& node, bool v3)
      : BatchNorm({.mean = 3, .variance = 4, .scale = 1, .offset = 2},
                  node.attr_float("epsilon", 1e-4f), /*use_scale=*/true),
        v3_(v3) {
    // TensorFlow's default is true; a frozen inference graph sets it to false.
    if (node.attr_bool("is_training", true))
      fail(node.describe(),
           ": is_training is true (or unset); poet runs batch normalisation for inference only");
    std::string format = node.attr_string("data_format", "NHWC");
    if (format != "NHWC")
      fail(node.describe(), ": data_format '", format, "' is not supported (only NHWC)");
  }

  int num_outputs() const override { return v3_ ? 6 : 5; }

 private:
  // batch_mean, batch_variance, reserve_space_1 (mean), reserve_space_2 (variance).
  int statistic_source(int output) const {
    return output % 2 == 1 ? operands().mean : operands().variance;
  }

  void infer_statistics(InferContext& ctx, int64_t channels) const override {
    for (int k = 1; k < 5; ++k) ctx.set_output(k, DType::kFloat32, Shape{channels});
    if (v3_) ctx.set_output(5, DType::kFloat32, Shape{0});
  }

  void compute_statistics(ComputeContext& ctx) const override {
    for (int k = 1; k < 5; ++k) ctx.set_output(k, ctx.input(statistic_source(k)));
    if (v3_) ctx.output(5);
  }

  bool v3_;
};

std::unique_ptr<Op> make_batch_norm_global(const Node& node, const OpOptions&) {
  return std::make_unique<BatchNormWithGlobalNormalization>(node);
}

std::unique_ptr<Op> make_fused_batch_norm(const Node& node, const OpOptions&) {
  return std::make_unique<FusedBatchNorm>(node, /*v3=*/false);
}

std::unique_ptr<Op> make_fused_batch_norm_v3(const Node& node, const OpOptions&) {
  return std::make_unique<FusedBatchNorm>(node, /*v3=*/true);
}

POET_REGISTER_OP("BatchNormWithGlobalNormalization", make_batch_norm_global,
                 {.inputs = {"T", "T", "T", "T", "T"},
                  .attrs = {"T", "variance_epsilon", "scale_after_normalization"}});
POET_REGISTER_OP("FusedBatchNorm", make_fused_batch_norm,
                 {.inputs = {"T", "T", "T", "T", "T"},
                  .attrs = {"T", "epsilon", "exponential_avg_factor", "data_format",
                            "is_training"}});
POET_REGISTER_OP("FusedBatchNormV3", make_fused_batch_norm_v3,
                 {.inputs = {"T", "U", "U", "U", "U"},
                  .attrs = {"T", "U", "epsilon", "exponential_avg_factor", "data_format",
                            "is_training"}});

}  // namespace
}  // namespace poet::ops
