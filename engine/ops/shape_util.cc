#include "engine/ops/shape_util.h"

namespace poet::ops {

void expect_int_dtype(const InferContext& ctx, int i) {
  DType t = ctx.input(i).dtype;
  if (t != DType::kInt32 && t != DType::kInt64)
    ctx.fail("input ", i, " is ", dtype_name(t), ", expected int32 or int64");
}

std::vector<int64_t> int_values(const Tensor& t) {
  if (t.dtype() == DType::kInt64) {
    auto v = t.data<int64_t>();
    return {v.begin(), v.end()};
  }
  auto v = t.data<int32_t>();
  return {v.begin(), v.end()};
}

int64_t normalize_axis(const InferContext& ctx, int64_t axis, int rank, std::string_view what) {
  if (axis < -rank || axis >= rank)
    ctx.fail(what, " ", axis, " is out of range for rank ", rank, " (expected [", -rank, ", ", rank,
             "))");
  return axis < 0 ? axis + rank : axis;
}

}  // namespace poet::ops
