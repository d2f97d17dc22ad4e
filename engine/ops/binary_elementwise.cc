// Add, AddV2, Sub, Mul, RealDiv, Maximum, Minimum: element-wise with NumPy broadcasting.
// float32 always; int32 too (except RealDiv) for the shape arithmetic graphs carry. Float
// Add/Sub/Mul/RealDiv of same-size tensors, or with a per-channel vector or a scalar, run the
// SIMD kernel for the active ISA unless the backend is kReference; the rest the reference.
#include "kernels/ref/binary_elementwise.h"
#include "engine/ops/registry.h"
#include "kernels/x86/elementwise.h"

namespace poet::ops {
namespace {

using kernels::ref::BinaryOp;
namespace x86 = kernels::x86;

// True when `small` repeats along the last axis of `out`: the same number of elements, one
// value, or [..., 1, C] against [..., C].
bool repeats_along_last_axis(const Shape& small, const Shape& out) {
  const int64_t n = num_elements(small);
  if (n == num_elements(out) || n == 1) return true;
  if (small.empty() || out.empty() || small.back() != out.back()) return false;
  return n == small.back();
}

// The broadcast of two shapes whose dimensions may be unknown (-1). An unknown dimension
// against a known one other than 1 takes the known value (it must be that or 1 at run time,
// when infer() checks again with every dimension known).
PartialShape broadcast_shapes(const InferContext& ctx, const PartialShape& a,
                              const PartialShape& b) {
  if (!a.known_rank || !b.known_rank) return PartialShape::unknown();
  const int rank = std::max(a.rank(), b.rank());
  Shape out(rank);
  for (int i = 0; i < rank; ++i) {
    // Axis i counted from the right; a missing leading axis acts as 1.
    int64_t da = i < a.rank() ? a.dims[a.rank() - 1 - i] : 1;
    int64_t db = i < b.rank() ? b.dims[b.rank() - 1 - i] : 1;
    int64_t& o = out[rank - 1 - i];
    if (da == 1) {
      o = db;
    } else if (db == 1 || db == da || db < 0) {
      o = da;
    } else if (da < 0) {
      o = db;
    } else {
      ctx.fail("incompatible shapes for broadcasting: ", a.str(), " and ", b.str());
    }
  }
  return PartialShape(std::move(out));
}

class BinaryElementwise final : public Op {
 public:
  // Integer division differs from RealDiv's; TensorFlow uses FloorDiv/TruncateDiv for ints.
  BinaryElementwise(BinaryOp op, const OpOptions& options)
      : op_(op),
        float_only_(op == BinaryOp::kDiv),
        reference_(options.backend == Backend::kReference) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2);
    DType t = ctx.input(0).dtype;
    if (ctx.input(1).dtype != t)
      ctx.fail("inputs have different types: ", dtype_name(t), " and ",
               dtype_name(ctx.input(1).dtype));
    if (t != DType::kFloat32 && (float_only_ || t != DType::kInt32))
      ctx.fail("inputs are ", dtype_name(t), "; supported: float32",
               float_only_ ? "" : " and int32");
    ctx.set_output(0, t, broadcast_shapes(ctx, ctx.input_shape(0), ctx.input_shape(1)));
  }

  void compute(ComputeContext& ctx) const override {
    if (ctx.input(0).dtype() == DType::kInt32) {
      run<int32_t>(ctx);
    } else if (!reference_ && x86::binary_repeating_supported(op_) && run_simd(ctx)) {
      return;
    } else {
      run<float>(ctx);
    }
  }

  int64_t flops(std::span<const TensorInfo>, std::span<const TensorInfo> out) const override {
    return num_elements(out[0].shape.dims);
  }

 private:
  // The SIMD kernel when one input has the output's size and the other repeats along its
  // last axis; false (nothing done) otherwise.
  bool run_simd(ComputeContext& ctx) const {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    const Shape& out_shape = ctx.output_shape(0);
    const int64_t n = num_elements(out_shape);
    const bool commutes = op_ == BinaryOp::kAdd || op_ == BinaryOp::kMul;
    const Tensor* full = &a;
    const Tensor* repeating = &b;
    if (a.num_elements() != n || !repeats_along_last_axis(b.shape(), out_shape)) {
      if (!commutes || b.num_elements() != n || !repeats_along_last_axis(a.shape(), out_shape))
        return false;
      std::swap(full, repeating);
    }
    if (n == 0 || repeating->num_elements() == 0) return false;
    x86::binary_repeating(x86::active_isa(), op_, full->data<float>(), repeating->data<float>(),
                          ctx.output(0).data<float>(), ctx.pool());
    return true;
  }

  template <class T>
  void run(ComputeContext& ctx) const {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    Tensor& out = ctx.output(0);
    kernels::ref::binary_elementwise<T>(op_, a.shape(), a.data<T>(), b.shape(), b.data<T>(),
                                        out.shape(), out.data<T>());
  }

  BinaryOp op_;
  bool float_only_;
  bool reference_;
};

template <BinaryOp op>
std::unique_ptr<Op> make(const Node&, const OpOptions& options) {
  return std::make_unique<BinaryElementwise>(op, options);
}

// TensorFlow defines every one of these ops alike.
const Signature kBinary{.inputs = {"T", "T"}, .attrs = {"T"}};

POET_REGISTER_OP("Add", make<BinaryOp::kAdd>, kBinary);
POET_REGISTER_OP("AddV2", make<BinaryOp::kAdd>, kBinary);
POET_REGISTER_OP("Sub", make<BinaryOp::kSub>, kBinary);
POET_REGISTER_OP("Mul", make<BinaryOp::kMul>, kBinary);
POET_REGISTER_OP("RealDiv", make<BinaryOp::kDiv>, kBinary);
POET_REGISTER_OP("Maximum", make<BinaryOp::kMaximum>, kBinary);
POET_REGISTER_OP("Minimum", make<BinaryOp::kMinimum>, kBinary);

}  // namespace
}  // namespace poet::ops
