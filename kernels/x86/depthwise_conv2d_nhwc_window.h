// The depthwise convolution kernels, written once for any SIMD width. Included only by
// depthwise_conv2d_nhwc_<isa>.cc, each compiled with its ISA's flags, with vector traits `V`
// from simd_<isa>.h.
//
// Layout: NHWC with multiplier 1, so output channel c reads only input channel c and the
// filter taps [ky][kx][c]: every tap is a vector FMA over kWidth consecutive channels, and a
// channel count that is not a multiple of kWidth ends in one masked vector.
//
// Each output row is cut into the pixels whose window lies inside the image (interior) and
// the rest (borders: the first and last columns, and whole rows at the top and bottom under
// SAME padding). 3x3 interior pixels, nearly all of MobileNet's work, run a kernel that holds
// one channel vector's 9 weights in registers and sweeps the row kPixels output pixels at a
// time (independent FMA chains), with no bounds checks. Borders, and windows of other sizes,
// run a per-pixel kernel that skips the taps outside the image and covers four channel
// vectors at a time.
#pragma once

#include "kernels/x86/depthwise_conv2d_nhwc.h"
#include "kernels/x86/window_geometry.h"

namespace poet::kernels::x86 {

template <class V>
struct DepthwiseRows {
  using Reg = typename V::Reg;
  static constexpr int kW = V::kWidth;

  static void run(const DepthwiseJob& job, int64_t row_begin, int64_t row_end) {
    const ConvShape& s = job.shape;
    const InteriorRange rows =
        interior_range(s.out_h, s.in_h, s.k_h, s.stride_h, s.dilation_h, s.pad_top);
    const InteriorRange cols =
        interior_range(s.out_w, s.in_w, s.k_w, s.stride_w, s.dilation_w, s.pad_left);
    for (int64_t r = row_begin; r < row_end; ++r) {
      const int64_t n = r / s.out_h, y = r - n * s.out_h;
      const bool fast = s.k_h == 3 && s.k_w == 3 && y >= rows.begin && y < rows.end;
      const int64_t x0 = fast ? cols.begin : s.out_w, x1 = fast ? cols.end : s.out_w;
      for (int64_t x = 0; x < x0; ++x) border_pixel(job, n, y, x);
      if (x1 > x0) interior_3x3(job, n, y, x0, x1);
      for (int64_t x = x1; x < s.out_w; ++x) border_pixel(job, n, y, x);
    }
  }

 private:
  // Loads/stores of the first `n` channels, or a whole vector when kPartial is false.
  template <bool kPartial>
  static Reg load(const float* p, int n) {
    if constexpr (kPartial) {
      return V::load_first(p, n);
    } else {
      return V::load(p);
    }
  }
  template <bool kPartial>
  static void store(float* p, Reg r, int n) {
    if constexpr (kPartial) {
      V::store_first(p, r, n);
    } else {
      V::store(p, r);
    }
  }
  static Reg activate(Reg r, Activation act) {
    if (act == Activation::kNone) return r;
    r = V::max(r, V::zero());
    return act == Activation::kRelu6 ? V::min(r, V::set1(6.f)) : r;
  }

  // --- 3x3 interior: weights in registers, kPixels pixels per step. ---

  struct Row {
    const float* in;  // window corner of the first pixel, at channel 0
    int64_t step;     // floats from one output pixel's window to the next
    int64_t taps[9];  // float offsets of the 9 taps from a window corner
    float* out;       // first pixel, channel 0
    int64_t count;    // pixels
    int64_t c;        // channels (also the pixel pitch of input and output)
  };

  static void interior_3x3(const DepthwiseJob& job, int64_t n, int64_t y, int64_t x0, int64_t x1) {
    const ConvShape& s = job.shape;
    const int64_t iy = y * s.stride_h - s.pad_top, ix = x0 * s.stride_w - s.pad_left;
    Row row;
    row.in = job.input + ((n * s.in_h + iy) * s.in_w + ix) * s.in_c;
    row.step = s.stride_w * s.in_c;
    for (int t = 0; t < 9; ++t)
      row.taps[t] = ((t / 3) * s.dilation_h * s.in_w + (t % 3) * s.dilation_w) * s.in_c;
    row.out = job.output + ((n * s.out_h + y) * s.out_w + x0) * s.out_c;
    row.count = x1 - x0;
    row.c = s.in_c;
    int64_t c = 0;
    for (; c + kW <= s.in_c; c += kW) interior_channels<false>(job, row, c, kW);
    if (c < s.in_c) interior_channels<true>(job, row, c, static_cast<int>(s.in_c - c));
  }

  // One channel vector [c, c + valid) of the whole interior run.
  template <bool kPartial>
  static void interior_channels(const DepthwiseJob& job, const Row& row, int64_t c, int valid) {
    Reg w[9];
#pragma GCC unroll 9
    for (int t = 0; t < 9; ++t) w[t] = load<kPartial>(job.filter + t * row.c + c, valid);
    const Reg bias = load<kPartial>(job.bias + c, valid);
    const float* in = row.in + c;
    float* out = row.out + c;
    int64_t x = 0;
    for (; x + V::kPixels <= row.count; x += V::kPixels)
      interior_tile<V::kPixels, kPartial>(row, w, bias, in + x * row.step, out + x * row.c, valid,
                                          job.act);
    for (; x < row.count; ++x)
      interior_tile<1, kPartial>(row, w, bias, in + x * row.step, out + x * row.c, valid, job.act);
  }

  template <int kM, bool kPartial>
  static void interior_tile(const Row& row, const Reg (&w)[9], Reg bias, const float* in,
                            float* out, int valid, Activation act) {
    Reg acc[kM];
#pragma GCC unroll 8
    for (int i = 0; i < kM; ++i) acc[i] = bias;
#pragma GCC unroll 9
    for (int t = 0; t < 9; ++t) {
#pragma GCC unroll 8
      for (int i = 0; i < kM; ++i)
        acc[i] = V::fmadd(load<kPartial>(in + i * row.step + row.taps[t], valid), w[t], acc[i]);
    }
#pragma GCC unroll 8
    for (int i = 0; i < kM; ++i) store<kPartial>(out + i * row.c, activate(acc[i], act), valid);
  }

  // --- Any window, taps outside the image skipped. ---

  static void border_pixel(const DepthwiseJob& job, int64_t n, int64_t y, int64_t x) {
    const ConvShape& s = job.shape;
    constexpr int kBlock = 4;
    int64_t c = 0;
    for (; c + kBlock * kW <= s.in_c; c += kBlock * kW)
      pixel_channels<kBlock, false>(job, n, y, x, c, kW);
    for (; c < s.in_c; c += kW) {
      const int64_t left = s.in_c - c;
      if (left >= kW) {
        pixel_channels<1, false>(job, n, y, x, c, kW);
      } else {
        pixel_channels<1, true>(job, n, y, x, c, static_cast<int>(left));
      }
    }
  }

  // Channels [c, c + kVecs * kW) of one pixel; with kPartial (kVecs 1) only `valid` of them.
  template <int kVecs, bool kPartial>
  static void pixel_channels(const DepthwiseJob& job, int64_t n, int64_t y, int64_t x, int64_t c,
                             int valid) {
    const ConvShape& s = job.shape;
    Reg acc[kVecs];
#pragma GCC unroll 4
    for (int v = 0; v < kVecs; ++v) acc[v] = load<kPartial>(job.bias + c + v * kW, valid);
    for (int64_t ky = 0; ky < s.k_h; ++ky) {
      const int64_t iy = y * s.stride_h + ky * s.dilation_h - s.pad_top;
      if (iy < 0 || iy >= s.in_h) continue;
      for (int64_t kx = 0; kx < s.k_w; ++kx) {
        const int64_t ix = x * s.stride_w + kx * s.dilation_w - s.pad_left;
        if (ix < 0 || ix >= s.in_w) continue;
        const float* in = job.input + ((n * s.in_h + iy) * s.in_w + ix) * s.in_c + c;
        const float* w = job.filter + (ky * s.k_w + kx) * s.in_c + c;
#pragma GCC unroll 4
        for (int v = 0; v < kVecs; ++v)
          acc[v] = V::fmadd(load<kPartial>(in + v * kW, valid), load<kPartial>(w + v * kW, valid),
                            acc[v]);
      }
    }
    float* out = job.output + ((n * s.out_h + y) * s.out_w + x) * s.out_c + c;
#pragma GCC unroll 4
    for (int v = 0; v < kVecs; ++v) store<kPartial>(out + v * kW, activate(acc[v], job.act), valid);
  }
};

}  // namespace poet::kernels::x86
