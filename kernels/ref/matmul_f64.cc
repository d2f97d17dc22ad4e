#include "kernels/ref/matmul_f64.h"

#include "engine/error.h"

namespace poet::kernels::ref {
namespace {

// The last index an operand is read or written at, plus one; 0 when it is not touched.
int64_t extent(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride) {
  if (rows == 0 || cols == 0) return 0;
  return (rows - 1) * row_stride + (cols - 1) * col_stride + 1;
}

}  // namespace

void check_matmul_f64(const MatmulF64Shape& s, std::span<const float> a, std::span<const double> b,
                      std::span<const double> c) {
  if (s.m < 0 || s.n < 0 || s.k < 0 || s.a_row < 0 || s.a_col < 0 || s.ldb < s.n || s.ldc < s.n)
    fail("matmul_f64: bad shape m ", s.m, " n ", s.n, " k ", s.k, ", strides a ", s.a_row, "/",
         s.a_col, " b ", s.ldb, " c ", s.ldc);
  if (static_cast<int64_t>(a.size()) < extent(s.m, s.k, s.a_row, s.a_col) ||
      static_cast<int64_t>(b.size()) < extent(s.k, s.n, s.ldb, 1) ||
      static_cast<int64_t>(c.size()) < extent(s.m, s.n, s.ldc, 1))
    fail("matmul_f64: operands of ", a.size(), ", ", b.size(), " and ", c.size(),
         " values are too short for m ", s.m, " n ", s.n, " k ", s.k);
}

void matmul_f64(const MatmulF64Shape& s, std::span<const float> a, std::span<const double> b,
                std::span<double> c) {
  check_matmul_f64(s, a, b, c);
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < s.n; ++j) {
      double sum = c[i * s.ldc + j];
      for (int64_t p = 0; p < s.k; ++p)
        sum += double{a[i * s.a_row + p * s.a_col]} * b[p * s.ldb + j];
      c[i * s.ldc + j] = sum;
    }
}

}  // namespace poet::kernels::ref
