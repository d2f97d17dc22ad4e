#include "kernels/ref/concat.h"

#include <algorithm>

namespace poet::kernels::ref {

void concat(std::span<const ConcatInput> inputs, int64_t outer, std::span<std::byte> output) {
  if (outer == 0) return;  // an empty axis before the join: nothing to copy
  const size_t out_row = output.size() / static_cast<size_t>(outer);
  for (int64_t r = 0; r < outer; ++r) {
    std::byte* out = output.data() + r * out_row;
    for (const ConcatInput& in : inputs) {
      const size_t row = in.bytes.size() / static_cast<size_t>(outer);
      std::copy_n(in.bytes.data() + r * row, row, out + in.column);
    }
  }
}

}  // namespace poet::kernels::ref
