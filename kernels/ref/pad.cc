#include "kernels/ref/pad.h"

#include <algorithm>
#include <vector>

namespace poet::kernels::ref {

void pad(std::span<const std::byte> input, std::span<const int64_t> in_shape,
         std::span<const int64_t> before, std::span<const int64_t> after, size_t element_size,
         std::span<std::byte> output) {
  std::fill(output.begin(), output.end(), std::byte{0});
  const size_t rank = in_shape.size();
  if (input.empty()) return;
  if (rank == 0) {
    std::copy(input.begin(), input.end(), output.begin());
    return;
  }
  // Element strides of the output, to place each input row (the contiguous last axis).
  std::vector<int64_t> out_stride(rank, 1);
  for (size_t d = rank - 1; d > 0; --d)
    out_stride[d - 1] = out_stride[d] * (before[d] + in_shape[d] + after[d]);
  const int64_t row = in_shape[rank - 1];
  std::vector<int64_t> index(rank, 0);  // of the current input row; index[rank-1] stays 0
  for (size_t in_offset = 0; in_offset < input.size(); in_offset += row * element_size) {
    int64_t out_offset = 0;
    for (size_t d = 0; d < rank; ++d) out_offset += (index[d] + before[d]) * out_stride[d];
    std::copy_n(input.data() + in_offset, row * element_size,
                output.data() + out_offset * element_size);
    // Step to the next row, odometer-style over the leading axes.
    for (size_t d = rank - 1; d-- > 0;) {
      if (++index[d] < in_shape[d]) break;
      index[d] = 0;
    }
  }
}

}  // namespace poet::kernels::ref
