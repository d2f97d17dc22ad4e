// Helpers for ops whose inputs describe shapes or axes (Reshape, ExpandDims, ConcatV2, Pad):
// reading int32/int64 tensors and checking axis indices.
#pragma once

#include <vector>

#include "engine/op.h"

namespace poet::ops {

// Checks input i is int32 or int64.
void expect_int_dtype(const InferContext& ctx, int i);

// The elements of an int32 or int64 tensor, widened.
std::vector<int64_t> int_values(const Tensor& t);

// `axis` in [-rank, rank) made non-negative; `what` names it in the error ("axis",
// "squeeze_dims[1]").
int64_t normalize_axis(const InferContext& ctx, int64_t axis, int rank, std::string_view what);

}  // namespace poet::ops
