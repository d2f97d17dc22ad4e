// Which outputs of a window operation (convolution, pooling) read only cells inside the image
// along one axis, so their kernels can skip the bounds checks. Plain integer arithmetic, safe
// to include from the per-ISA kernel files.
#pragma once

#include <cstdint>

namespace poet::kernels::x86 {

// Outputs [begin, end) along one axis whose whole window lies in [0, in); begin <= end.
struct InteriorRange {
  int64_t begin = 0, end = 0;
};

// Output o reads cells o * stride - pad + k * dilation for k in [0, window).
inline InteriorRange interior_range(int64_t out, int64_t in, int64_t window, int64_t stride,
                                    int64_t dilation, int64_t pad) {
  // First o with o * stride >= pad; last o with o * stride - pad + (window-1)*dilation < in.
  int64_t begin = (pad + stride - 1) / stride;
  const int64_t last = in - 1 + pad - (window - 1) * dilation;
  int64_t end = last < 0 ? 0 : last / stride + 1;
  if (begin > out) begin = out;
  if (end > out) end = out;
  if (end < begin) end = begin;
  return {begin, end};
}

}  // namespace poet::kernels::x86
