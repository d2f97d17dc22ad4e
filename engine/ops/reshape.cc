// Ops that change only a tensor's shape, never its elements: Reshape, ExpandDims and Squeeze
// share the input's storage. (Shape, which returns the shape itself, is in shape.cc.)
#include <algorithm>
#include <limits>
#include <string>

#include "engine/ops/registry.h"
#include "engine/ops/shape_util.h"

namespace poet::ops {
namespace {

// The output of every op here: the input's elements under a new shape.
void forward_reshaped(ComputeContext& ctx) {
  ctx.set_output(0, ctx.input(0).reshaped(ctx.output_shape(0)));
}

// "[3,-1]": shape_string would print the -1 as "?".
std::string dims_string(std::span<const int64_t> dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

// The target shape of Reshape with its -1 resolved against the input's shape when that is
// fully known; otherwise the -1 stays unknown.
Shape reshape_target(const InferContext& ctx, std::vector<int64_t> target) {
  int unknown = -1;
  int64_t product = 1;
  for (int i = 0; i < static_cast<int>(target.size()); ++i) {
    if (target[i] == -1) {
      if (unknown >= 0) ctx.fail("shape ", dims_string(target), " has more than one -1");
      unknown = i;
    } else if (target[i] < 0) {
      ctx.fail("shape ", dims_string(target), " has a negative dimension ", target[i]);
    } else if (__builtin_mul_overflow(product, target[i], &product)) {
      ctx.fail("shape ", dims_string(target), " has too many elements");
    }
  }
  const PartialShape& in = ctx.input_shape(0);
  if (!in.fully_known()) return target;
  int64_t count = num_elements(in.dims);
  if (unknown >= 0) {
    if (product == 0 || count % product != 0)
      ctx.fail("cannot reshape a tensor of ", count, " elements ", in.str(), " to ",
               dims_string(target), ": ", count, " is not a multiple of ", product);
    target[unknown] = count / product;
  } else if (product != count) {
    ctx.fail("cannot reshape a tensor of ", count, " elements ", in.str(), " to ",
             dims_string(target), " (", product, " elements)");
  }
  return target;
}

// Reshape(tensor, shape): shape is an int32/int64 vector with at most one -1.
class Reshape final : public Op {
 public:
  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2);
    expect_int_dtype(ctx, 1);
    ctx.expect_rank(1, 1);
    DType dtype = ctx.input(0).dtype;
    if (const Tensor* shape = ctx.input_value(1)) {
      ctx.set_output(0, dtype, reshape_target(ctx, int_values(*shape)));
    } else if (int64_t rank = ctx.input_shape(1).dim(0); rank >= 0) {
      ctx.set_output(0, dtype, Shape(rank, -1));
    } else {
      ctx.set_output(0, dtype, PartialShape::unknown());
    }
  }
  void compute(ComputeContext& ctx) const override { forward_reshaped(ctx); }
};

// ExpandDims(input, dim): inserts a 1 at dim, in [-rank-1, rank].
class ExpandDims final : public Op {
 public:
  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2);
    expect_int_dtype(ctx, 1);
    DType dtype = ctx.input(0).dtype;
    const PartialShape& in = ctx.input_shape(0);
    const Tensor* dim = ctx.input_value(1);
    if (!in.known_rank) return ctx.set_output(0, dtype, PartialShape::unknown());
    if (!dim) return ctx.set_output(0, dtype, Shape(in.rank() + 1, -1));
    if (dim->num_elements() != 1)
      ctx.fail("dim must hold a single value, got shape ", shape_string(dim->shape()));
    int64_t at = normalize_axis(ctx, int_values(*dim)[0], in.rank() + 1, "dim");
    Shape out = in.dims;
    out.insert(out.begin() + at, 1);
    ctx.set_output(0, dtype, out);
  }
  void compute(ComputeContext& ctx) const override { forward_reshaped(ctx); }
};

// Squeeze(input) with squeeze_dims: removes those size-1 dimensions, or every size-1
// dimension when the list is empty.
class Squeeze final : public Op {
 public:
  explicit Squeeze(const Node& node) : dims_(node.attr_ints("squeeze_dims", {})) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1);
    DType dtype = ctx.input(0).dtype;
    const PartialShape& in = ctx.input_shape(0);
    if (!in.known_rank) return ctx.set_output(0, dtype, PartialShape::unknown());
    std::vector<bool> drop(in.rank(), false);
    for (size_t i = 0; i < dims_.size(); ++i) {
      int64_t d = normalize_axis(ctx, dims_[i], in.rank(), str_cat("squeeze_dims[", i, "]"));
      // An unknown dimension is taken to be 1; the run-time inference checks it.
      if (in.dims[d] >= 0 && in.dims[d] != 1)
        ctx.fail("cannot squeeze dimension ", dims_[i], " of ", in.str(), ": its size is ",
                 in.dims[d], ", not 1");
      drop[d] = true;
    }
    if (dims_.empty()) {
      // Which dimensions go depends on sizes not yet known.
      if (!in.fully_known()) return ctx.set_output(0, dtype, PartialShape::unknown());
      for (int d = 0; d < in.rank(); ++d) drop[d] = in.dims[d] == 1;
    }
    Shape out;
    for (int d = 0; d < in.rank(); ++d)
      if (!drop[d]) out.push_back(in.dims[d]);
    ctx.set_output(0, dtype, out);
  }
  void compute(ComputeContext& ctx) const override { forward_reshaped(ctx); }

 private:
  std::vector<int64_t> dims_;
};

std::unique_ptr<Op> make_reshape(const Node&, const OpOptions&) {
  return std::make_unique<Reshape>();
}
std::unique_ptr<Op> make_expand_dims(const Node&, const OpOptions&) {
  return std::make_unique<ExpandDims>();
}
std::unique_ptr<Op> make_squeeze(const Node& node, const OpOptions&) {
  return std::make_unique<Squeeze>(node);
}

POET_REGISTER_OP("Reshape", make_reshape, {.inputs = {"T", "Tshape"}, .attrs = {"T", "Tshape"}});
POET_REGISTER_OP("ExpandDims", make_expand_dims, {.inputs = {"T", "Tdim"}, .attrs = {"T", "Tdim"}});
POET_REGISTER_OP("Squeeze", make_squeeze, {.inputs = {"T"}, .attrs = {"T", "squeeze_dims"}});

}  // namespace
}  // namespace poet::ops
