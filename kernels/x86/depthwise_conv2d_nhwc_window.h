// The depthwise convolution kernels, written once for any SIMD width. Included only by
// depthwise_conv2d_nhwc_<isa>.cc, each compiled with its ISA's flags, with vector traits `V`
// from simd_<isa>.h.
//
// Layout: NHWC with multiplier 1, so output channel c reads only input channel c and the
// filter taps [ky][kx][c]: every tap is a vector FMA over kWidth consecutive channels, and a
// channel count that is not a multiple of kWidth ends in one masked vector.
//
// 3x3 windows (MobileNet's, nearly all of its depthwise work) run one output row at a time,
// one channel vector at a time: the vector's 9 weights stay in registers while the kernel
// sweeps the row. The three input rows are pointers, a row above or below the image pointing
// at a row of zeros (DepthwiseJob::zeros), so top and bottom rows run the same code as the
// middle ones. Along the row, the pixels whose window lies inside the image run in tiles of
// kPixels (independent FMA chains, no bounds checks) and one tile of the remainder; the few
// pixels at the left and right edges skip the columns outside the image. Other windows run a
// per-pixel kernel that skips the taps outside the image and covers four channel vectors at
// a time.
#pragma once

#include "kernels/x86/depthwise_conv2d_nhwc.h"
#include "kernels/x86/window_geometry.h"

namespace poet::kernels::x86 {

template <class V>
struct DepthwiseRows {
  using Reg = typename V::Reg;
  static constexpr int kW = V::kWidth;

  static void run(const DepthwiseJob& job, int64_t row, int64_t c_begin, int64_t c_end) {
    const ConvShape& s = job.shape;
    const int64_t n = row / s.out_h, y = row - n * s.out_h;
    if (s.k_h == 3 && s.k_w == 3) {
      row_3x3(job, n, y, c_begin, c_end);
      return;
    }
    for (int64_t x = 0; x < s.out_w; ++x) any_window_pixel(job, n, y, x, c_begin, c_end);
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

  // --- 3x3: weights in registers, one output row per call. ---

  struct Row {
    const float* in[3];  // input rows ky = 0..2 (or zeros), at column 0, channel 0
    int64_t col0;        // input column of output pixel 0's window corner (may be negative)
    int64_t step;        // input columns from one output pixel's window to the next
    int64_t dx;          // input columns between taps kx and kx + 1
    int64_t in_w;
    int64_t x0, x1;  // output pixels [x0, x1) have their window inside the image
    int64_t out_w;
    int64_t c;   // channels: the pixel pitch of input and output
    float* out;  // output row, channel 0
  };

  static void row_3x3(const DepthwiseJob& job, int64_t n, int64_t y, int64_t c_begin,
                      int64_t c_end) {
    const ConvShape& s = job.shape;
    Row row;
    for (int ky = 0; ky < 3; ++ky) {
      const int64_t iy = y * s.stride_h - s.pad_top + ky * s.dilation_h;
      row.in[ky] =
          iy >= 0 && iy < s.in_h ? job.input + (n * s.in_h + iy) * s.in_w * s.in_c : job.zeros;
    }
    row.col0 = -s.pad_left;
    row.step = s.stride_w;
    row.dx = s.dilation_w;
    row.in_w = s.in_w;
    const InteriorRange cols =
        interior_range(s.out_w, s.in_w, 3, s.stride_w, s.dilation_w, s.pad_left);
    row.x0 = cols.begin;
    row.x1 = cols.end;
    row.out_w = s.out_w;
    row.c = s.in_c;
    row.out = job.output + (n * s.out_h + y) * s.out_w * s.out_c;
    if (s.dilation_w == 1 && s.stride_w == 1) {
      row_channel_vectors<1>(job, row, c_begin, c_end);
    } else if (s.dilation_w == 1 && s.stride_w == 2) {
      row_channel_vectors<2>(job, row, c_begin, c_end);
    } else {
      row_channel_vectors<0>(job, row, c_begin, c_end);
    }
  }

  // kStride: the column stride when known at compile time (with dilation 1), else 0.
  template <int kStride>
  static void row_channel_vectors(const DepthwiseJob& job, const Row& row, int64_t c_begin,
                                  int64_t c_end) {
    int64_t c = c_begin;
    for (; c + kW <= c_end; c += kW) row_channels<kStride, false>(job, row, c, kW);
    if (c < c_end) row_channels<kStride, true>(job, row, c, static_cast<int>(c_end - c));
  }

  // One channel vector [c, c + valid) of the whole row.
  template <int kStride, bool kPartial>
  static void row_channels(const DepthwiseJob& job, const Row& row, int64_t c, int valid) {
    Reg w[9];
#pragma GCC unroll 9
    for (int t = 0; t < 9; ++t) w[t] = load<kPartial>(job.filter + t * row.c + c, valid);
    const Reg bias = load<kPartial>(job.bias + c, valid);
    for (int64_t x = 0; x < row.x0; ++x) edge_pixel<kPartial>(row, w, bias, x, c, valid, job.act);
    int64_t x = row.x0;
    for (; x + V::kPixels <= row.x1; x += V::kPixels)
      tile<V::kPixels, kStride, kPartial>(row, w, bias, x, c, valid, job.act);
    remainder<V::kPixels - 1, kStride, kPartial>(row, w, bias, x, c, valid, job.act);
    for (x = row.x1; x < row.out_w; ++x) edge_pixel<kPartial>(row, w, bias, x, c, valid, job.act);
  }

  // The interior pixels [x, row.x1), fewer than kPixels: one tile of their count, so that a
  // short row (5 pixels at 7x7) still runs independent FMA chains.
  template <int kM, int kStride, bool kPartial>
  static void remainder(const Row& row, const Reg (&w)[9], Reg bias, int64_t x, int64_t c,
                        int valid, Activation act) {
    if constexpr (kM > 0) {
      if (row.x1 - x == kM) {
        tile<kM, kStride, kPartial>(row, w, bias, x, c, valid, act);
      } else {
        remainder<kM - 1, kStride, kPartial>(row, w, bias, x, c, valid, act);
      }
    }
  }

  // Output pixels [x, x + kM), all with their window inside the image's columns. With a
  // known stride the kernel walks the input columns, loading each once and feeding it to
  // every pixel whose window holds it (three with stride 1): a third of the loads, and every
  // input line of the tile is used as soon as it arrives, which matters when the pixel pitch
  // is a multiple of 4 KiB (7x7x1024) and the lines compete for the same L1 set.
  template <int kM, int kStride, bool kPartial>
  static void tile(const Row& row, const Reg (&w)[9], Reg bias, int64_t x, int64_t c, int valid,
                   Activation act) {
    Reg acc[kM];
#pragma GCC unroll 8
    for (int i = 0; i < kM; ++i) acc[i] = bias;
    const int64_t col = row.col0 + x * row.step;
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ++ky) {
      const float* in = row.in[ky] + col * row.c + c;
      if constexpr (kStride > 0) {
        constexpr int kCols = (kM - 1) * kStride + 3;
#pragma GCC unroll 32
        for (int o = 0; o < kCols; ++o) {
          const Reg v = load<kPartial>(in + o * row.c, valid);
#pragma GCC unroll 3
          for (int kx = 0; kx < 3; ++kx) {
            const int d = o - kx;  // kx's column of pixel d / kStride
            if (d >= 0 && d % kStride == 0 && d / kStride < kM)
              acc[d / kStride] = V::fmadd(v, w[ky * 3 + kx], acc[d / kStride]);
          }
        }
      } else {
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; ++kx) {
#pragma GCC unroll 8
          for (int i = 0; i < kM; ++i)
            acc[i] = V::fmadd(load<kPartial>(in + (i * row.step + kx * row.dx) * row.c, valid),
                              w[ky * 3 + kx], acc[i]);
        }
      }
    }
    float* out = row.out + x * row.c + c;
#pragma GCC unroll 8
    for (int i = 0; i < kM; ++i) store<kPartial>(out + i * row.c, activate(acc[i], act), valid);
  }

  // One pixel whose window crosses the left or right edge: columns outside are skipped, and
  // the three rows accumulate separately.
  template <bool kPartial>
  static void edge_pixel(const Row& row, const Reg (&w)[9], Reg bias, int64_t x, int64_t c,
                         int valid, Activation act) {
    Reg acc[3] = {bias, V::zero(), V::zero()};
    for (int kx = 0; kx < 3; ++kx) {
      const int64_t ix = row.col0 + x * row.step + kx * row.dx;
      if (ix < 0 || ix >= row.in_w) continue;
#pragma GCC unroll 3
      for (int ky = 0; ky < 3; ++ky)
        acc[ky] =
            V::fmadd(load<kPartial>(row.in[ky] + ix * row.c + c, valid), w[ky * 3 + kx], acc[ky]);
    }
    store<kPartial>(row.out + x * row.c + c, activate(V::add(V::add(acc[0], acc[1]), acc[2]), act),
                    valid);
  }

  // --- Any window, taps outside the image skipped. ---

  static void any_window_pixel(const DepthwiseJob& job, int64_t n, int64_t y, int64_t x,
                               int64_t c_begin, int64_t c_end) {
    constexpr int kBlock = 4;
    int64_t c = c_begin;
    for (; c + kBlock * kW <= c_end; c += kBlock * kW)
      pixel_channels<kBlock, false>(job, n, y, x, c, kW);
    for (; c < c_end; c += kW) {
      const int64_t left = c_end - c;
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
