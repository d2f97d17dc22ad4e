#include "kernels/ref/matmul.h"

namespace poet::kernels::ref {

void matmul(std::span<const float> a, std::span<const float> b, int64_t m, int64_t n, int64_t k,
            bool transpose_a, bool transpose_b, std::span<float> c) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      float sum = 0.f;
      for (int64_t p = 0; p < k; ++p) {
        float x = transpose_a ? a[p * m + i] : a[i * k + p];
        float y = transpose_b ? b[j * k + p] : b[p * n + j];
        sum += x * y;
      }
      c[i * n + j] = sum;
    }
  }
}

}  // namespace poet::kernels::ref
