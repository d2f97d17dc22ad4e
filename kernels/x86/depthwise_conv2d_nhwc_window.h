// The depthwise convolution kernels, written once for any SIMD width. Included only by
// depthwise_conv2d_nhwc_<isa>.cc, each compiled with its ISA's flags, with vector traits `V`
// from simd_<isa>.h.
//
// Layout: NHWC with multiplier 1, so output channel c reads only input channel c: every tap is
// a vector FMA over kWidth consecutive channels. The weights come packed
// (DepthwiseJob::weights): per group of kDepthwiseGroup channels, one cache line of floats,
// the bias then the taps.
//
// 3x3 windows with stride 1 or 2 along the row (MobileNet's) are blocked as follows:
// - one output row at a time, or with stride 1 (down and along) and kOutRows 2, two: their
//   three or four input rows are pointers, a row outside the image pointing at zeros
//   (DepthwiseJob::zeros), so the top and bottom rows run the same code. Two rows load each
//   of their four input rows once for both: with 8-pixel tiles 2.5 loads per output vector
//   instead of 3.75, which counts since the input streams from L2;
// - the row in tiles of kPixels output pixels, each tile over all the call's channels, one
//   channel group (a cache line of every pixel: kPixels x kLineVecs accumulators) at a time,
//   before the next tile: input and output are walked in memory order, and every line
//   loaded is used whole at once;
// - within a tile the kernel walks the input columns of each input row, loading each vector
//   once and feeding it to every pixel whose window holds it (three per output row with
//   stride 1), with the weights in registers;
// - the first and last tiles of a row skip the columns outside the image (for SAME padding's
//   one column a compile-time case); the last tile ends at the row's end, recomputing pixels
//   of the one before;
// - rows of fewer channels than a group run tiles of kPixels x kLineVecs pixels (as many
//   accumulators); rows narrower than that (with stride 1) are one tile, whose FMAs read the
//   weights from L1 when its accumulators take the registers;
// - a layer's last channels (fewer than a group) run vector by vector, the last one masked.
// Other windows, strides and dilations run a per-pixel kernel that skips the taps outside the
// image.
#pragma once

#include "kernels/x86/depthwise_conv2d_nhwc.h"
#include "kernels/x86/simd_lanes.h"

namespace poet::kernels::x86 {

// kOutRows: output rows a 3x3 tile computes at once (1 or 2).
template <class V, int kOutRows>
struct DepthwiseRows {
  using Reg = typename V::Reg;
  static constexpr int kW = V::kWidth;
  // Vectors per channel group.
  static constexpr int kLineVecs = kDepthwiseGroup / kW;
  static_assert(kLineVecs * kW == kDepthwiseGroup);
  static_assert(kOutRows == 1 || kOutRows == 2);

  static void run(const DepthwiseJob& job, int64_t row, int64_t rows, int64_t c_begin,
                  int64_t c_end) {
    const ConvShape& s = job.shape;
    const bool tiled =
        s.k_h == 3 && s.k_w == 3 && s.dilation_w == 1 && (s.stride_w == 1 || s.stride_w == 2);
    // With stride 1 and dilation 1 down the image, two output rows read four input rows, not
    // six. (With stride 2 they read five, not six, and the taller tiles measured slower.)
    const bool row_pairs = tiled && s.stride_w == 1 && s.stride_h == 1 && s.dilation_h == 1;
    for (int64_t r = row; r < row + rows;) {
      const int64_t n = r / s.out_h, y = r - n * s.out_h;
      if (kOutRows > 1 && row_pairs && r + kOutRows <= row + rows) {
        row_3x3<kOutRows>(job, job.act, n, y, c_begin, c_end);
        r += kOutRows;
        continue;
      }
      if (tiled) {
        row_3x3<1>(job, job.act, n, y, c_begin, c_end);
      } else {
        for (int64_t x = 0; x < s.out_w; ++x)
          any_window_pixel(job, job.act, n, y, x, c_begin, c_end);
      }
      ++r;
    }
  }

 private:
  // p, its value hidden from the optimiser: a tile then walks its columns with one pointer per
  // input row, where the compiler would keep every column's address live (more than there
  // are general registers) and spill them.
  static const float* opaque(const float* p) {
    __asm__("" : "+r"(p));
    return p;
  }

  // Weights of channel c: its bias, then tap t at + (1 + t) * kDepthwiseGroup.
  static const float* weights(const DepthwiseJob& job, int64_t c) {
    return job.weights + depthwise_weights_offset(job.shape.k_h * job.shape.k_w, c);
  }

  // --- 3x3, dilation 1 and stride 1 or 2 along the row: kR output rows per call. ---

  // The input rows kR output rows read (kR = 2 only with stride 1: rows 0..2 and 1..3).
  static constexpr int kMaxInRows = kOutRows + 2;

  struct Row {
    const float* in[kMaxInRows];  // input rows (or zeros), at column 0, channel 0
    int64_t col0;                 // input column of output pixel 0's window (-pad_left)
    int64_t in_w;
    int64_t c;          // channels: the pixel pitch of input and output
    float* out;         // first output row, channel 0
    int64_t out_pitch;  // floats from one output row to the next
  };

  template <int kR>
  static void row_3x3(const DepthwiseJob& job, Activation act, int64_t n, int64_t y,
                      int64_t c_begin, int64_t c_end) {
    const ConvShape& s = job.shape;
    Row row;
    for (int r = 0; r < kR + 2; ++r) {
      const int64_t iy = y * s.stride_h - s.pad_top + r * s.dilation_h;
      row.in[r] =
          iy >= 0 && iy < s.in_h ? job.input + (n * s.in_h + iy) * s.in_w * s.in_c : job.zeros;
    }
    row.col0 = -s.pad_left;
    row.in_w = s.in_w;
    row.c = s.in_c;
    row.out = job.output + (n * s.out_h + y - job.first_row) * s.out_w * s.out_c;
    row.out_pitch = s.out_w * s.out_c;
    if (s.stride_w == 1) {
      row_tiles<kR, 1>(job, act, row, s.out_w, c_begin, c_end);
    } else if constexpr (kR == 1) {  // two rows come with stride 1 only (run)
      row_tiles<1, 2>(job, act, row, s.out_w, c_begin, c_end);
    }
  }

  // Tiles keep kPixels x kLineVecs accumulators in flight: fewer channels than a group (one
  // vector on AVX2: MobileNet 0.25's first layer, 8 channels) run tiles of more pixels. A
  // row narrower than its tile is one tile; with stride 1 so is a row narrower than
  // kWidePixels, which then reads its weights once (MobileNet's 7x7x1024: 29 -> 25 us), not
  // with stride 2, where such a tile walks 15 columns and overlapping tiles are faster.
  static constexpr int kWidePixels = V::kPixels * kLineVecs;

  template <int kR, int kStride>
  static void row_tiles(const DepthwiseJob& job, Activation act, const Row& row, int64_t out_w,
                        int64_t c_begin, int64_t c_end) {
    const bool few_channels = c_end - c_begin < kDepthwiseGroup;
    if (out_w < (few_channels || kStride == 1 ? kWidePixels : V::kPixels)) {
      narrow_row<kR, kWidePixels - 1, kStride>(job, act, row, out_w, c_begin, c_end);
    } else if (few_channels) {
      row_tiles<kR, kStride, kWidePixels>(job, act, row, out_w, c_begin, c_end);
    } else {
      row_tiles<kR, kStride, V::kPixels>(job, act, row, out_w, c_begin, c_end);
    }
  }
  // A row's tiles, each of them (tile_channels, tile) inlined, with the Row taken by value: the
  // compiler then keeps its fields in registers through the stores to the output, which a reference
  // could alias (a call per tile, or reloading them after every store, cost 15-25% on MobileNet's
  // big layers).
  template <int kR, int kStride, int kM>
  static void row_tiles(const DepthwiseJob& job, Activation act, const Row row, int64_t out_w,
                        int64_t c_begin, int64_t c_end) {
    for (int64_t x = 0;; x += kM) {
      if (x > out_w - kM) x = out_w - kM;
      tile_channels<kR, kM, kStride>(job, act, row, x, c_begin, c_end);
      if (x + kM == out_w) break;
    }
  }

  // A narrow row is one tile, which with SAME padding has a column outside the image on
  // either side: the run-time edge case serves all of them, one variant per width (four per
  // width made this file take clang minutes to compile with the sanitizers).
  template <int kR, int kM, int kStride>
  static void narrow_row(const DepthwiseJob& job, Activation act, const Row row, int64_t out_w,
                         int64_t c_begin, int64_t c_end) {
    if constexpr (kM > 0) {
      if (out_w == kM) {
        tile_channels<kR, kM, kStride, kAnyOut>(job, act, row, 0, c_begin, c_end);
      } else {
        narrow_row<kR, kM - 1, kStride>(job, act, row, out_w, c_begin, c_end);
      }
    }
  }

  // Which of a tile's input columns lie outside the image: none; the first (the left tile of
  // a SAME row); the last (the right one); or any, known at run time (tiny images, other
  // paddings). The first three are compile-time cases, so that edge tiles run as fast as
  // the others.
  enum Edge { kInside, kFirstOut, kLastOut, kAnyOut };

  // Output pixels [x, x + kM), channels [c_begin, c_end): group by group, then the layer's
  // last channels vector by vector.
  template <int kR, int kM, int kStride>
  [[gnu::always_inline]] static void tile_channels(const DepthwiseJob& job, Activation act,
                                                   const Row& row, int64_t x, int64_t c_begin,
                                                   int64_t c_end) {
    constexpr int kCols = (kM - 1) * kStride + 3;
    const int64_t col = row.col0 + x * kStride;
    const bool left_in = col >= 0, right_in = col + kCols <= row.in_w;
    if (left_in && right_in) {
      tile_channels<kR, kM, kStride, kInside>(job, act, row, x, c_begin, c_end);
    } else if (col == -1 && right_in) {
      tile_channels<kR, kM, kStride, kFirstOut>(job, act, row, x, c_begin, c_end);
    } else if (left_in && col + kCols == row.in_w + 1) {
      tile_channels<kR, kM, kStride, kLastOut>(job, act, row, x, c_begin, c_end);
    } else {
      tile_channels<kR, kM, kStride, kAnyOut>(job, act, row, x, c_begin, c_end);
    }
  }
  template <int kR, int kM, int kStride, Edge kEdge>
  [[gnu::always_inline]] static void tile_channels(const DepthwiseJob& job, Activation act,
                                                   const Row& row, int64_t x, int64_t c_begin,
                                                   int64_t c_end) {
    constexpr int64_t kGroupFloats = 10 * kDepthwiseGroup;  // bias and 9 taps
    const float* w = weights(job, c_begin);
    int64_t c = c_begin;
    for (; c + kDepthwiseGroup <= c_end; c += kDepthwiseGroup, w += kGroupFloats)
      tile<kR, kM, kStride, kEdge, kLineVecs, false>(act, row, x, c, w, kW);
    for (; c + kW <= c_end; c += kW, w += kW)
      tile<kR, kM, kStride, kEdge, 1, false>(act, row, x, c, w, kW);
    if (c < c_end)
      tile<kR, kM, kStride, kEdge, 1, true>(act, row, x, c, w, static_cast<int>(c_end - c));
  }

  // kR rows of kM output pixels x kVecs channel vectors from c (with kPartial one vector of
  // `valid` channels), `w` the channels' packed weights. The kernel walks the tile's input
  // columns row by row, loading each vector once and feeding it to every pixel whose window
  // holds it (three per output row with stride 1, in both output rows for the input rows they
  // share), with the weights in registers, and skips the columns outside the image (kEdge).
  template <int kR, int kM, int kStride, Edge kEdge, int kVecs, bool kPartial>
  [[gnu::always_inline]] static void tile(Activation act, const Row& row, int64_t x, int64_t c,
                                          const float* w, int valid) {
    constexpr int kCols = (kM - 1) * kStride + 3;
    constexpr int kInRows = kR + 2;  // two rows come with stride 1 only (run)
    const int64_t col = row.col0 + x * kStride;
    // The tile's columns [lo, hi) inside the image.
    const int lo = kEdge == kFirstOut            ? 1
                   : kEdge == kAnyOut && col < 0 ? static_cast<int>(-col)
                                                 : 0;
    const int hi = kEdge == kLastOut                            ? kCols - 1
                   : kEdge == kAnyOut && col + kCols > row.in_w ? static_cast<int>(row.in_w - col)
                                                                : kCols;
    Reg acc[kR][kM][kVecs];
#pragma GCC unroll 2
    for (int j = 0; j < kR; ++j)
#pragma GCC unroll 8
      for (int i = 0; i < kM; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < kVecs; ++v) acc[j][i][v] = V::load(w + v * kW);
    // One row's tile keeps a filter row's weights in registers while it walks that input row;
    // two rows keep all nine, since an input row feeds both. When the accumulators leave no
    // registers for them, the FMAs read the weights from memory (from L1), through a pointer
    // re-hidden at every column so that the compiler cannot hoist the loads into registers it
    // does not have.
    constexpr int kHeldWeights = (kR == 1 ? 3 : 9) * kVecs;
    constexpr bool kWeightsInRegisters = kR * kM * kVecs + kHeldWeights + 1 <= V::kRegisters;
    Reg wk[3][3][kVecs];
    if constexpr (kWeightsInRegisters && kR > 1) {
#pragma GCC unroll 9
      for (int t = 0; t < 9; ++t)
#pragma GCC unroll 4
        for (int v = 0; v < kVecs; ++v)
          wk[t / 3][t % 3][v] = V::load(w + (1 + t) * kDepthwiseGroup + v * kW);
    }
#pragma GCC unroll 4
    for (int r = 0; r < kInRows; ++r) {
      if constexpr (kWeightsInRegisters && kR == 1) {
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; ++kx)
#pragma GCC unroll 4
          for (int v = 0; v < kVecs; ++v)
            wk[r][kx][v] = V::load(w + (1 + r * 3 + kx) * kDepthwiseGroup + v * kW);
      }
      const float* w_taps = w + kDepthwiseGroup;
      const float* in = row.in[r] + (col + lo) * row.c + c;
#pragma GCC unroll 32
      for (int o = 0; o < kCols; ++o) {
        if (o < lo || o >= hi) continue;
        if constexpr (!kWeightsInRegisters) w_taps = opaque(w_taps);
#pragma GCC unroll 4
        for (int v = 0; v < kVecs; ++v) {
          const Reg in_v = load_lanes<V, kPartial>(in + v * kW, valid);
#pragma GCC unroll 2
          for (int j = 0; j < kR; ++j) {
            const int ky = r - j;  // output row j's filter row reading input row r
            if (ky < 0 || ky >= 3) continue;
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; ++kx) {
              const int d = o - kx;  // kx's column of pixel d / kStride
              if (d >= 0 && d % kStride == 0 && d / kStride < kM) {
                const Reg weight = kWeightsInRegisters
                                       ? wk[ky][kx][v]
                                       : V::load(w_taps + (ky * 3 + kx) * kDepthwiseGroup + v * kW);
                acc[j][d / kStride][v] = V::fmadd(in_v, weight, acc[j][d / kStride][v]);
              }
            }
          }
        }
        in = opaque(in + row.c);
      }
    }
#pragma GCC unroll 2
    for (int j = 0; j < kR; ++j) {
      float* out = row.out + j * row.out_pitch + x * row.c + c;
#pragma GCC unroll 8
      for (int i = 0; i < kM; ++i) {
#pragma GCC unroll 4
        for (int v = 0; v < kVecs; ++v)
          store_lanes<V, kPartial>(out + v * kW, activate_vector<V>(acc[j][i][v], act), valid);
        out += row.c;
      }
    }
  }

  // --- Any window, taps outside the image skipped. ---

  static void any_window_pixel(const DepthwiseJob& job, Activation act, int64_t n, int64_t y,
                               int64_t x, int64_t c_begin, int64_t c_end) {
    int64_t c = c_begin;
    for (; c + kDepthwiseGroup <= c_end; c += kDepthwiseGroup)
      pixel_channels<kLineVecs, false>(job, act, n, y, x, c, kW);
    for (; c + kW <= c_end; c += kW) pixel_channels<1, false>(job, act, n, y, x, c, kW);
    if (c < c_end) pixel_channels<1, true>(job, act, n, y, x, c, static_cast<int>(c_end - c));
  }

  // Channels [c, c + kVecs * kW) of one pixel; with kPartial (kVecs 1) only `valid` of them.
  template <int kVecs, bool kPartial>
  static void pixel_channels(const DepthwiseJob& job, Activation act, int64_t n, int64_t y,
                             int64_t x, int64_t c, int valid) {
    const ConvShape& s = job.shape;
    const float* w = weights(job, c);
    Reg acc[kVecs];
#pragma GCC unroll 4
    for (int v = 0; v < kVecs; ++v) acc[v] = V::load(w + v * kW);
    for (int64_t ky = 0; ky < s.k_h; ++ky) {
      const int64_t iy = y * s.stride_h + ky * s.dilation_h - s.pad_top;
      if (iy < 0 || iy >= s.in_h) continue;
      for (int64_t kx = 0; kx < s.k_w; ++kx) {
        const int64_t ix = x * s.stride_w + kx * s.dilation_w - s.pad_left;
        if (ix < 0 || ix >= s.in_w) continue;
        const float* in = job.input + ((n * s.in_h + iy) * s.in_w + ix) * s.in_c + c;
        const float* tap = w + (1 + ky * s.k_w + kx) * kDepthwiseGroup;
#pragma GCC unroll 4
        for (int v = 0; v < kVecs; ++v)
          acc[v] =
              V::fmadd(load_lanes<V, kPartial>(in + v * kW, valid), V::load(tap + v * kW), acc[v]);
      }
    }
    float* out = job.output + ((n * s.out_h + y - job.first_row) * s.out_w + x) * s.out_c + c;
#pragma GCC unroll 4
    for (int v = 0; v < kVecs; ++v)
      store_lanes<V, kPartial>(out + v * kW, activate_vector<V>(acc[v], act), valid);
  }
};

}  // namespace poet::kernels::x86
