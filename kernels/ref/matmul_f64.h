// Reference C += A B summed in double, A read from floats: the sums of the new layer that
// `poet retrain` trains (trainer/softmax_layer.cc), x W + b and x^T (p - y).
//
// Each element of C is summed from its own value in the order k = 0, 1, ..., every product
// rounded before it is added (no fused multiply-add). A faster version that keeps that order
// per element, however it blocks and vectorises, gives the same bits; the x86 one does.
#pragma once

#include <cstdint>
#include <span>

namespace poet::kernels::ref {

// A(i, p) = a[i * a_row + p * a_col]: a_col 1 reads a row-major [m, k] matrix, a_row 1 a
// row-major [k, m] one as its transpose. B(p, j) = b[p * ldb + j], C(i, j) = c[i * ldc + j].
struct MatmulF64Shape {
  int64_t m = 0, n = 0, k = 0;
  int64_t a_row = 0, a_col = 0;
  int64_t ldb = 0, ldc = 0;
};

// Throws Error when a, b or c is too short for the shape and strides.
void check_matmul_f64(const MatmulF64Shape& s, std::span<const float> a, std::span<const double> b,
                      std::span<const double> c);

// C(i, j) += sum over p of double(A(i, p)) * B(p, j).
void matmul_f64(const MatmulF64Shape& s, std::span<const float> a, std::span<const double> b,
                std::span<double> c);

}  // namespace poet::kernels::ref
