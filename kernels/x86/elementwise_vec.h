// The element-wise kernels, written once for any SIMD width. Included only by
// elementwise_<isa>.cc, each compiled with its ISA's flags, with vector traits `V` from
// simd_<isa>.h.
#pragma once

#include "kernels/x86/elementwise.h"
#include "kernels/x86/simd_lanes.h"

namespace poet::kernels::x86 {

template <class V>
struct ElementwiseVec {
  using Reg = typename V::Reg;
  static constexpr int kW = V::kWidth;

  static ElementwiseKernels kernels() { return {&binary, &activation}; }

 private:
  static void binary(ref::BinaryOp op, const float* a, const float* b, int64_t b_len, float* out,
                     int64_t begin, int64_t end) {
    switch (op) {
      case ref::BinaryOp::kAdd:
        return rows<ref::BinaryOp::kAdd>(a, b, b_len, out, begin, end);
      case ref::BinaryOp::kSub:
        return rows<ref::BinaryOp::kSub>(a, b, b_len, out, begin, end);
      case ref::BinaryOp::kMul:
        return rows<ref::BinaryOp::kMul>(a, b, b_len, out, begin, end);
      case ref::BinaryOp::kDiv:
        return rows<ref::BinaryOp::kDiv>(a, b, b_len, out, begin, end);
      default:
        return;  // the driver only sends the four above
    }
  }

  template <ref::BinaryOp kOp>
  static Reg apply(Reg x, Reg y) {
    if constexpr (kOp == ref::BinaryOp::kAdd) return V::add(x, y);
    if constexpr (kOp == ref::BinaryOp::kSub) return V::sub(x, y);
    if constexpr (kOp == ref::BinaryOp::kMul) return V::mul(x, y);
    if constexpr (kOp == ref::BinaryOp::kDiv) return V::div(x, y);
  }

  // Walks [begin, end) in runs that stay within one repetition of b.
  template <ref::BinaryOp kOp>
  static void rows(const float* a, const float* b, int64_t b_len, float* out, int64_t begin,
                   int64_t end) {
    int64_t j = begin % b_len;
    for (int64_t i = begin; i < end; j = 0) {
      const int64_t len = end - i < b_len - j ? end - i : b_len - j;
      run<kOp>(a + i, b + j, out + i, len);
      i += len;
    }
  }

  template <ref::BinaryOp kOp>
  static void run(const float* a, const float* b, float* out, int64_t n) {
    int64_t i = 0;
    for (; i + kW <= n; i += kW) V::store(out + i, apply<kOp>(V::load(a + i), V::load(b + i)));
    if (i < n) {
      const int left = static_cast<int>(n - i);
      V::store_first(out + i, apply<kOp>(V::load_first(a + i, left), V::load_first(b + i, left)),
                     left);
    }
  }

  static void activation(Activation act, const float* in, float* out, int64_t n) {
    if (act == Activation::kNone) return;  // the driver copies instead
    int64_t i = 0;
    for (; i + kW <= n; i += kW) V::store(out + i, activate_vector<V>(V::load(in + i), act));
    if (i < n) {
      const int left = static_cast<int>(n - i);
      V::store_first(out + i, activate_vector<V>(V::load_first(in + i, left), act), left);
    }
  }
};

}  // namespace poet::kernels::x86
