// The Softmax rows, written once for any SIMD width. Included only by softmax_<isa>.cc, each
// compiled with its ISA's flags, with vector traits `V` from simd_<isa>.h.
#pragma once

#include <algorithm>
#include <cmath>

#include "kernels/x86/softmax.h"

namespace poet::kernels::x86 {

template <class V>
struct SoftmaxVec {
  using Reg = typename V::Reg;
  static constexpr int kW = V::kWidth;

  static void rows(const float* logits, int64_t classes, float* out, int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) row(logits + r * classes, classes, out + r * classes);
  }

  // exp(x) for x <= 0 (Softmax only exponentiates x - max): x = n ln2 + r with |r| <= ln2/2,
  // exp(r) from a degree-6 polynomial (Cephes' expf coefficients), times 2^n. Clamped at -88,
  // where n is -127, whose 2^n built from exponent bits is 0: below about -87.7 the result is
  // 0, as the reference's exp gives for the far tail (a clamp at 2^-126 printed 1.2e-38
  // where the reference printed 0). n never goes below -127, which the bits cannot hold.
  static Reg exp_nonpositive(Reg x) {
    // -88 first: max returns its second operand when either is NaN, so a NaN (a NaN logit, or
    // inf - inf) stays NaN and makes the row's sum, hence the whole row, NaN, as in the
    // reference and TensorFlow.
    x = V::max(V::set1(-88.f), x);
    const Reg n = V::round(V::mul(x, V::set1(1.44269504f)));  // x / ln2
    // ln2 in two parts, so n * ln2_hi is exact and r keeps its low bits.
    Reg r = V::sub(x, V::mul(n, V::set1(0.693359375f)));
    r = V::sub(r, V::mul(n, V::set1(-2.12194440e-4f)));
    Reg p = V::set1(1.9875691500e-4f);
    p = V::fmadd(p, r, V::set1(1.3981999507e-3f));
    p = V::fmadd(p, r, V::set1(8.3334519073e-3f));
    p = V::fmadd(p, r, V::set1(4.1665795894e-2f));
    p = V::fmadd(p, r, V::set1(1.6666665459e-1f));
    p = V::fmadd(p, r, V::set1(5.0000001201e-1f));
    const Reg e = V::add(V::fmadd(p, V::mul(r, r), r), V::set1(1.f));  // exp(r)
    return V::mul(e, V::pow2(n));
  }

 private:
  static void row(const float* x, int64_t n, float* y) {
    const int64_t full = n - n % kW;
    Reg max_lanes = V::set1(-INFINITY);
    for (int64_t i = 0; i < full; i += kW) max_lanes = V::max(max_lanes, V::load(x + i));
    float max = V::reduce_max(max_lanes);
    for (int64_t i = full; i < n; ++i) max = std::max(max, x[i]);

    const Reg shift = V::set1(max);
    Reg sum_lanes = V::zero();
    for (int64_t i = 0; i < full; i += kW) {
      const Reg e = exp_nonpositive(V::sub(V::load(x + i), shift));
      V::store(y + i, e);
      sum_lanes = V::add(sum_lanes, e);
    }
    float sum = V::reduce_add(sum_lanes);
    if (full < n) {
      const int left = static_cast<int>(n - full);
      V::store_first(y + full, exp_nonpositive(V::sub(V::load_first(x + full, left), shift)), left);
      for (int64_t i = full; i < n; ++i) sum += y[i];
    }

    const Reg inverse = V::set1(1.f / sum);
    for (int64_t i = 0; i < full; i += kW) V::store(y + i, V::mul(V::load(y + i), inverse));
    for (int64_t i = full; i < n; ++i) y[i] *= 1.f / sum;
  }
};

}  // namespace poet::kernels::x86
