// Mean: float32 average over the axes given by the second input (int32 or int64, scalar or
// vector, negative counting from the end), keeping reduced axes as 1 when keep_dims is set.
#include <vector>

#include "engine/ops/registry.h"
#include "kernels/ref/mean.h"

namespace poet::ops {
namespace {

class Mean final : public Op {
 public:
  explicit Mean(const Node& node) : keep_dims_(node.attr_bool("keep_dims", false)) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2);
    ctx.expect_dtype(0, DType::kFloat32);
    const DType axes_type = ctx.input(1).dtype;
    if (axes_type != DType::kInt32 && axes_type != DType::kInt64)
      ctx.fail("axes (input 1) are ", dtype_name(axes_type), ", expected int32 or int64");
    const PartialShape& axes_shape = ctx.input_shape(1);
    if (axes_shape.known_rank && axes_shape.rank() > 1)
      ctx.fail("axes (input 1) have shape ", axes_shape.str(), ", expected a scalar or vector");
    const PartialShape& in = ctx.input_shape(0);
    const Tensor* axes = ctx.input_value(1);
    if (!in.known_rank || !axes) {
      // Until the axes are known, so is only the rank when keep_dims keeps every axis.
      PartialShape out = PartialShape::unknown();
      if (in.known_rank && keep_dims_) out = PartialShape(Shape(in.rank(), -1));
      ctx.set_output(0, DType::kFloat32, std::move(out));
      return;
    }
    std::vector<bool> reduce(in.rank(), false);
    for (int64_t a : axis_list(ctx, *axes, in.rank())) reduce[a] = true;
    Shape out;
    for (int d = 0; d < in.rank(); ++d) {
      if (!reduce[d]) {
        out.push_back(in.dims[d]);
      } else if (keep_dims_) {
        out.push_back(1);
      }
    }
    ctx.set_output(0, DType::kFloat32, std::move(out));
  }

  void compute(ComputeContext& ctx) const override {
    const Tensor& in = ctx.input(0);
    kernels::ref::mean(in.shape(), in.data<float>(), axis_list(ctx, ctx.input(1), in.rank()),
                       ctx.output(0).data<float>());
  }

  int64_t flops(std::span<const TensorInfo> in, std::span<const TensorInfo>) const override {
    return num_elements(in[0].shape.dims);
  }

 private:
  // The axes tensor's values made non-negative; repeats are allowed, as in TensorFlow.
  template <class Context>
  static std::vector<int64_t> axis_list(const Context& ctx, const Tensor& axes, int rank) {
    std::vector<int64_t> list;
    if (axes.dtype() == DType::kInt32) {
      for (int32_t a : axes.data<int32_t>()) list.push_back(a);
    } else {
      for (int64_t a : axes.data<int64_t>()) list.push_back(a);
    }
    for (int64_t& a : list) {
      if (a < -rank || a >= rank)
        ctx.fail("axis ", a, " is out of range for an input of rank ", rank);
      if (a < 0) a += rank;
    }
    return list;
  }

  bool keep_dims_;
};

std::unique_ptr<Op> make_mean(const Node& node, const OpOptions&) {
  return std::make_unique<Mean>(node);
}

POET_REGISTER_OP("Mean", make_mean, {.inputs = {"T", "Tidx"}, .attrs = {"keep_dims", "T", "Tidx"}});

}  // namespace
}  // namespace poet::ops
