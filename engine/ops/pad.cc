// Pad(input, paddings): zero padding; paddings is an int32/int64 [rank, 2] tensor of
// (before, after) counts, each >= 0.
#include "kernels/ref/pad.h"
#include "engine/ops/registry.h"
#include "engine/ops/shape_util.h"

namespace poet::ops {
namespace {

class Pad final : public Op {
 public:
  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2);
    const DType dtype = ctx.input(0).dtype;
    if (dtype == DType::kString) ctx.fail("padding strings is not supported");
    expect_int_dtype(ctx, 1);
    ctx.expect_rank(1, 2);
    const PartialShape& in = ctx.input_shape(0);
    const PartialShape& pads_shape = ctx.input_shape(1);
    if (pads_shape.dim(1) >= 0 && pads_shape.dim(1) != 2)
      ctx.fail("paddings has shape ", pads_shape.str(), ", expected [rank, 2]");
    int64_t rank = in.known_rank ? in.rank() : pads_shape.dim(0);
    if (in.known_rank && pads_shape.dim(0) >= 0 && pads_shape.dim(0) != in.rank())
      ctx.fail("paddings has shape ", pads_shape.str(), " but the input ", in.str(), " has rank ",
               in.rank());
    const Tensor* pads = ctx.input_value(1);
    if (rank < 0) return ctx.set_output(0, dtype, PartialShape::unknown());
    if (!pads) return ctx.set_output(0, dtype, Shape(rank, -1));
    std::vector<int64_t> p = int_values(*pads);
    Shape out(rank);
    for (int64_t d = 0; d < rank; ++d) {
      if (p[2 * d] < 0 || p[2 * d + 1] < 0)
        ctx.fail("paddings[", d, "] is [", p[2 * d], ", ", p[2 * d + 1],
                 "]; padding must not be negative");
      int64_t size = in.dim(static_cast<int>(d));
      if (size < 0) {
        out[d] = -1;
      } else if (__builtin_add_overflow(size, p[2 * d], &out[d]) ||
                 __builtin_add_overflow(out[d], p[2 * d + 1], &out[d])) {
        ctx.fail("paddings[", d, "] makes dimension ", d, " of ", in.str(), " overflow");
      }
    }
    ctx.set_output(0, dtype, out);
  }

  void compute(ComputeContext& ctx) const override {
    const Tensor& in = ctx.input(0);
    std::vector<int64_t> p = int_values(ctx.input(1));
    std::vector<int64_t> before, after;
    for (size_t d = 0; d < p.size() / 2; ++d) {
      before.push_back(p[2 * d]);
      after.push_back(p[2 * d + 1]);
    }
    Tensor& out = ctx.output(0);
    kernels::ref::pad(in.bytes(), in.shape(), before, after, dtype_size(in.dtype()), out.bytes());
  }
};

std::unique_ptr<Op> make_pad(const Node&, const OpOptions&) { return std::make_unique<Pad>(); }

POET_REGISTER_OP("Pad", make_pad, {.inputs = {"T", "Tpaddings"}, .attrs = {"T", "Tpaddings"}});

}  // namespace
}  // namespace poet::ops
