// The pooling kernels, written once for any SIMD width. Included only by pool_nhwc_<isa>.cc,
// each compiled with its ISA's flags, with vector traits `V` from simd_<isa>.h.
//
// Each output pixel clips its window to the image once (so no per-cell bounds checks), then
// reduces the window for four channel vectors at a time (four independent max/add chains),
// then single vectors, then one masked vector for the last channels. The window is read in
// the reference's order (rows, then columns), so sums round exactly as the reference's. A
// fused activation clamps the results before they are stored.
#pragma once

#include <cfloat>

#include "kernels/x86/pool_nhwc.h"
#include "kernels/x86/simd_lanes.h"

namespace poet::kernels::x86 {

template <class V>
struct PoolRows {
  using Reg = typename V::Reg;
  static constexpr int kW = V::kWidth;

  static PoolKernels kernels() { return {&run<true>, &run<false>}; }

 private:
  // The window cells inside the image, as offsets into the input.
  struct Window {
    const float* corner;  // first real cell, channel 0
    int64_t rows, cols;   // real cells along each axis
    int64_t row_pitch;    // floats between image rows
    int64_t pitch;        // floats between pixels (the channel count)
  };

  static int64_t larger(int64_t a, int64_t b) { return a > b ? a : b; }
  static int64_t smaller(int64_t a, int64_t b) { return a < b ? a : b; }

  template <bool kMax>
  static void run(const PoolJob& job, int64_t row_begin, int64_t row_end) {
    const ConvShape& s = job.shape;
    for (int64_t r = row_begin; r < row_end; ++r) {
      const int64_t n = r / s.out_h, y = r - n * s.out_h;
      const int64_t y0 = y * s.stride_h - s.pad_top;
      const int64_t iy0 = larger(y0, 0), iy1 = smaller(y0 + s.k_h, s.in_h);
      for (int64_t x = 0; x < s.out_w; ++x) {
        const int64_t x0 = x * s.stride_w - s.pad_left;
        const int64_t ix0 = larger(x0, 0), ix1 = smaller(x0 + s.k_w, s.in_w);
        const Window win{job.input + ((n * s.in_h + iy0) * s.in_w + ix0) * s.in_c,
                         larger(iy1 - iy0, 0), larger(ix1 - ix0, 0), s.in_w * s.in_c, s.in_c};
        pixel<kMax>(win, job.output + ((n * s.out_h + y) * s.out_w + x) * s.out_pixel_stride(),
                    job.act);
      }
    }
  }

  template <bool kMax>
  static void pixel(const Window& win, float* out, Activation act) {
    constexpr int kBlock = 4;
    int64_t c = 0;
    for (; c + kBlock * kW <= win.pitch; c += kBlock * kW)
      channels<kMax, kBlock, false>(win, c, out, kW, act);
    for (; c < win.pitch; c += kW) {
      const int64_t left = win.pitch - c;
      if (left >= kW) {
        channels<kMax, 1, false>(win, c, out, kW, act);
      } else {
        channels<kMax, 1, true>(win, c, out, static_cast<int>(left), act);
      }
    }
  }

  // Channels [c, c + kVecs * kW) of one output pixel; with kPartial (kVecs 1) only `valid`.
  template <bool kMax, int kVecs, bool kPartial>
  static void channels(const Window& win, int64_t c, float* out, int valid, Activation act) {
    Reg acc[kVecs];
    const Reg init = kMax ? V::set1(-FLT_MAX) : V::zero();  // the reference's start
#pragma GCC unroll 4
    for (int v = 0; v < kVecs; ++v) acc[v] = init;
    for (int64_t i = 0; i < win.rows; ++i) {
      const float* in = win.corner + i * win.row_pitch + c;
      for (int64_t j = 0; j < win.cols; ++j, in += win.pitch) {
#pragma GCC unroll 4
        for (int v = 0; v < kVecs; ++v) {
          const Reg x = kPartial ? V::load_first(in + v * kW, valid) : V::load(in + v * kW);
          // max(x, acc) keeps acc when x is NaN, as the reference's std::max(acc, x).
          acc[v] = kMax ? V::max(x, acc[v]) : V::add(acc[v], x);
        }
      }
    }
    if (!kMax && win.rows * win.cols > 0) {
      const Reg count = V::set1(static_cast<float>(win.rows * win.cols));
#pragma GCC unroll 4
      for (int v = 0; v < kVecs; ++v) acc[v] = V::div(acc[v], count);
    }
#pragma GCC unroll 4
    for (int v = 0; v < kVecs; ++v) acc[v] = activate_vector<V>(acc[v], act);
#pragma GCC unroll 4
    for (int v = 0; v < kVecs; ++v) {
      if (kPartial) {
        V::store_first(out + c + v * kW, acc[v], valid);
      } else {
        V::store(out + c + v * kW, acc[v]);
      }
    }
  }
};

}  // namespace poet::kernels::x86
