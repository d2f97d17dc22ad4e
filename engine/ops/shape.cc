// Shape: the input's shape as an int32 or int64 vector, a constant at load whenever the input
// shape is fully known then.
#include <algorithm>
#include <limits>

#include "engine/ops/registry.h"
#include "engine/ops/shape_util.h"

namespace poet::ops {
namespace {

// Shape(input) as an int32 (default) or int64 vector.
class ShapeOp final : public Op {
 public:
  explicit ShapeOp(const Node& node) : out_type_(node.attr_type("out_type", DType::kInt32)) {
    if (out_type_ != DType::kInt32 && out_type_ != DType::kInt64)
      fail(node.describe(), ": out_type ", dtype_name(out_type_), " is not int32 or int64");
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1);
    const PartialShape& in = ctx.input_shape(0);
    if (in.fully_known()) {
      ctx.set_output_value(0, shape_tensor(ctx.node(), in.dims));
    } else {
      ctx.set_output(0, out_type_, Shape{in.known_rank ? in.rank() : -1});
    }
  }

  void compute(ComputeContext& ctx) const override {
    ctx.set_output(0, shape_tensor(ctx.node(), ctx.input(0).shape()));
  }

 private:
  Tensor shape_tensor(const Node& node, const Shape& shape) const {
    Tensor t(out_type_, Shape{static_cast<int64_t>(shape.size())});
    if (out_type_ == DType::kInt64) {
      std::copy(shape.begin(), shape.end(), t.data<int64_t>().begin());
      return t;
    }
    auto out = t.data<int32_t>();
    for (size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] > std::numeric_limits<int32_t>::max())
        fail(node.describe(), ": dimension ", shape[i], " of ", shape_string(shape),
             " does not fit out_type int32");
      out[i] = static_cast<int32_t>(shape[i]);
    }
    return t;
  }

  DType out_type_;
};

std::unique_ptr<Op> make_shape(const Node& node, const OpOptions&) {
  return std::make_unique<ShapeOp>(node);
}

POET_REGISTER_OP("Shape", make_shape, {.inputs = {"T"}, .attrs = {"T", "out_type"}});

}  // namespace
}  // namespace poet::ops
