#include "kernels/ref/mean.h"

#include <vector>

namespace poet::kernels::ref {

void mean(std::span<const int64_t> shape, std::span<const float> in, std::span<const int64_t> axes,
          std::span<float> out) {
  // Stride of each input axis in the output: 0 for reduced axes, so every input element
  // lands on the output cell it is averaged into.
  const int rank = static_cast<int>(shape.size());
  std::vector<char> reduce(rank, 0);
  for (int64_t a : axes) reduce[a] = 1;
  std::vector<int64_t> out_stride(rank, 0);
  int64_t stride = 1, count = 1;
  for (int d = rank - 1; d >= 0; --d) {
    if (reduce[d]) {
      count *= shape[d];
    } else {
      out_stride[d] = stride;
      stride *= shape[d];
    }
  }
  std::vector<double> sums(out.size(), 0.0);
  std::vector<int64_t> index(rank, 0);
  int64_t o = 0;
  for (float x : in) {
    sums[o] += x;
    for (int d = rank - 1; d >= 0; --d) {
      ++index[d];
      o += out_stride[d];
      if (index[d] < shape[d]) break;
      o -= out_stride[d] * shape[d];
      index[d] = 0;
    }
  }
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<float>(sums[i] / static_cast<double>(count));
}

}  // namespace poet::kernels::ref
