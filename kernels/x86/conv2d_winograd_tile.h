// The Winograd tile transforms, written once for any SIMD width and any tile (a pair of 1-D
// variants, winograd::Tile in conv2d_winograd.h). Included only by conv2d_winograd_<isa>.cc,
// each compiled with its ISA's flags, with vector traits `V` from simd_<isa>.h.
//
// NHWC keeps a pixel's channels contiguous, so each transform works on one vector of channels
// at a time: every "number" of the matrix products below is a vector of kWidth channels, and
// the channels never mix. A 2-D transform is two passes of 1-D ones: B_h^T d B_w is B_w^T
// applied to each row of d (into a scratch of vectors on the stack), then B_h^T to each column
// of that. Along an axis the filter does not span the variant is F(1, 1), whose matrices are
// [1]: that pass only moves registers, and compiles to nothing. The matrices are compile-time
// constants, so each 1-D transform unrolls into a fixed
// sequence of instructions: zero entries cost nothing, +-1 an add or a subtract, any other entry
// one fused multiply-add.
#pragma once

#include <type_traits>
#include <utility>

#include "kernels/x86/conv2d_winograd.h"
#include "kernels/x86/simd_lanes.h"

namespace poet::kernels::x86 {

template <class V>
struct WinogradTile {
  using Reg = typename V::Reg;
  static constexpr int kW = V::kWidth;

  template <class T>
  static WinogradTransforms transforms() {
    return {&input<T>, &output<T>};
  }

  template <class T>
  static void input(const float* window, int64_t row_stride, int64_t pixel_stride, int64_t channels,
                    float* v, int64_t point_stride) {
    for_each_vector(channels, [&](int64_t c, int n, auto partial) {
      input_vector<T, decltype(partial)::value>(window + c, row_stride, pixel_stride, n, v + c,
                                                point_stride);
    });
  }

  template <class T>
  static void output(const float* m, int64_t point_stride, int64_t channels, const float* bias,
                     Activation act, float* out, int64_t row_stride, int64_t pixel_stride, int rows,
                     int cols) {
    for_each_vector(channels, [&](int64_t c, int n, auto partial) {
      output_vector<T, decltype(partial)::value>(m + c, point_stride, bias + c, act, out + c,
                                                 row_stride, pixel_stride, rows, cols, n);
    });
  }

 private:
  // f(c, n, partial) for each vector of channels [0, channels): n channels from c, kW but in a
  // last partial vector (std::true_type: masked loads and stores).
  template <class F>
  static void for_each_vector(int64_t channels, const F& f) {
    for (int64_t c = 0; c < channels; c += kW) {
      const int n = static_cast<int>(channels - c < kW ? channels - c : kW);
      if (n == kW) {
        f(c, n, std::false_type());
      } else {
        f(c, n, std::true_type());
      }
    }
  }

  // One vector of channels of V = B_h^T d B_w. A partial vector reads `n` channels of each cell
  // and writes the other lanes as zeros.
  template <class T, bool kPartial>
  static void input_vector(const float* window, int64_t row_stride, int64_t pixel_stride, int n,
                           float* v, int64_t point_stride) {
    using H = typename T::AlongH;
    using W = typename T::AlongW;
    Reg db[H::kPoints][W::kPoints];  // d B_w
    transform_rows<W::kBT, kPartial>(window, row_stride, pixel_stride, n, db);
#pragma GCC unroll 16
    for (int j = 0; j < W::kPoints; ++j) {
      Reg column[H::kPoints], t[H::kPoints];
#pragma GCC unroll 16
      for (int i = 0; i < H::kPoints; ++i) column[i] = db[i][j];
      apply<H::kBT>(column, t);
#pragma GCC unroll 16
      for (int i = 0; i < H::kPoints; ++i) V::store(v + (i * W::kPoints + j) * point_stride, t[i]);
    }
  }

  // One vector of channels of Y = act(A_h^T M A_w + bias), stored for the pixels inside the
  // image.
  template <class T, bool kPartial>
  static void output_vector(const float* m, int64_t point_stride, const float* bias, Activation act,
                            float* out, int64_t row_stride, int64_t pixel_stride, int rows,
                            int cols, int n) {
    using H = typename T::AlongH;
    using W = typename T::AlongW;
    constexpr int kOnes = ones_column<H>();
    static_assert(kOnes >= 0, "the bias is added at the point 1");
    Reg ma[H::kPoints][W::kOut];  // M A_w
    transform_rows<W::kAT, kPartial>(m, W::kPoints * point_stride, point_stride, n, ma);
    const Reg b = load_lanes<V, kPartial>(bias, n), zero = V::zero(), six = V::set1(6.f);
#pragma GCC unroll 16
    for (int x = 0; x < W::kOut; ++x) {
      if (x >= cols) break;
      Reg column[H::kPoints], y[H::kOut];
#pragma GCC unroll 16
      for (int i = 0; i < H::kPoints; ++i) column[i] = ma[i][x];
      // The bias, added at the point 1: A_h^T's column for it is all ones, so A_h^T adds it to
      // each of the column's outputs.
      column[kOnes] = V::add(column[kOnes], b);
      apply<H::kAT>(column, y);
#pragma GCC unroll 16
      for (int i = 0; i < H::kOut; ++i) {
        if (i >= rows) break;
        Reg r = y[i];
        // Constant first: NaN and -0.0 pass through, as in activate_vector (simd_lanes.h).
        if (act != Activation::kNone) r = V::max(zero, r);
        if (act == Activation::kRelu6) r = V::min(six, r);
        store_lanes<V, kPartial>(out + i * row_stride + x * pixel_stride, r, n);
      }
    }
  }

  // The first pass of a 2-D transform: out[i] = M applied to row i of the kRows x kCols cells,
  // cell (i, j) at src[i * i_stride + j * j_stride].
  template <const auto& M, bool kPartial, int kRows, int kOut,
            int kCols = std::extent_v<std::remove_reference_t<decltype(M)>, 1>>
  static void transform_rows(const float* src, int64_t i_stride, int64_t j_stride, int n,
                             Reg (&out)[kRows][kOut]) {
#pragma GCC unroll 16
    for (int i = 0; i < kRows; ++i) {
      Reg row[kCols];
#pragma GCC unroll 16
      for (int j = 0; j < kCols; ++j)
        row[j] = load_lanes<V, kPartial>(src + i * i_stride + j * j_stride, n);
      apply<M>(row, out[i]);
    }
  }

  // The index of the column of ones (the point 1) of variant F's A^T.
  template <class F>
  static constexpr int ones_column() {
    for (int j = 0; j < F::kPoints; ++j) {
      bool ones = true;
      for (int i = 0; i < F::kOut; ++i) ones = ones && F::kAT[i][j] == 1;
      if (ones) return j;
    }
    return -1;
  }

  // out = M in for a matrix M known at compile time.
  template <const auto& M, int kRows, int kCols>
  static void apply(const Reg (&in)[kCols], Reg (&out)[kRows]) {
    [&]<int... I>(std::integer_sequence<int, I...>) {
      ((out[I] = dot<M, I>(in, std::make_integer_sequence<int, kCols>())), ...);
    }
    (std::make_integer_sequence<int, kRows>());
  }

  // Row `I` of M times `in`: starting from a term whose coefficient is 1 if there is one (no
  // multiplication), then adding the other non-zero terms.
  template <const auto& M, int I, int... J>
  static Reg dot(const Reg* in, std::integer_sequence<int, J...>) {
    constexpr int first = first_term(M[I]);
    static_assert(first >= 0, "a row of zeros");
    Reg acc;
    if constexpr (M[I][first] == 1) {
      acc = in[first];
    } else {
      acc = V::mul(V::set1(static_cast<float>(M[I][first])), in[first]);
    }
    (add_term<M, I, J, J == first>(acc, in[J]), ...);
    return acc;
  }

  template <int N>
  static constexpr int first_term(const double (&row)[N]) {
    for (int j = 0; j < N; ++j)
      if (row[j] == 1) return j;
    for (int j = 0; j < N; ++j)
      if (row[j] != 0) return j;
    return -1;
  }

  template <const auto& M, int I, int J, bool kSkip>
  static void add_term(Reg& acc, Reg x) {
    constexpr double c = M[I][J];
    if constexpr (kSkip || c == 0) {
      return;
    } else if constexpr (c == 1) {
      acc = V::add(acc, x);
    } else if constexpr (c == -1) {
      acc = V::sub(acc, x);
    } else {
      acc = V::fmadd(V::set1(static_cast<float>(c)), x, acc);
    }
  }
};

}  // namespace poet::kernels::x86
