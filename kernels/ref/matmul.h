// Reference matrix product of two row-major float matrices.
#pragma once

#include <cstdint>
#include <span>

namespace poet::kernels::ref {

// c[m,n] = sum over k of A[m,k] * B[k,n], where A is `a` ([M,K], or [K,M] stored when
// transpose_a) and B is `b` ([K,N], or [N,K] stored when transpose_b). c is [M,N].
void matmul(std::span<const float> a, std::span<const float> b, int64_t m, int64_t n, int64_t k,
            bool transpose_a, bool transpose_b, std::span<float> c);

}  // namespace poet::kernels::ref
