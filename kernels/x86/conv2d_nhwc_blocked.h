// The register-blocked Conv2D micro-kernel, written once for any SIMD width. Included only by
// conv2d_nhwc_<isa>.cc, each compiled with its ISA's flags, with a traits type `V`:
//   V::Reg                 the vector register type (__m256, __m512)
//   V::kWidth              floats per register
//   V::kTileRows           output pixels per micro-tile (MR)
//   V::load/broadcast/fmadd/zero/max/min/set1, store(p, r), and load_first(p, n) /
//   store_first(p, r, n) for the first n < kWidth lanes
//
// Blocking scheme. The output is a matrix [pixels][out_c]. A micro-tile is MR consecutive
// output pixels x one filter panel (2 vectors = 2*kWidth output channels): MR*2 accumulator
// registers (AVX-512: 12 x 2 zmm; AVX2: 6 x 2 ymm) that stay in registers for the whole
// reduction. The reduction runs over every filter tap (ky, kx) and input channel c: load the
// panel's two weight vectors for (ky, kx, c) once, then for each of the MR pixels broadcast
// its input value at that tap and channel and FMA it into both accumulators. Each weight load
// serves MR FMAs and each broadcast serves 2, so the loop is bound by FMA throughput, not
// loads. A 1x1 convolution is the same loop with one tap: a GEMM.
//
// Around it (conv2d_nhwc.cc): a work item is a block of up to 8 micro-tiles times a group of
// panels, looping channel-slice / panel / tile so one panel's weights for the slice
// (taps*c_block*2*kWidth floats) stay in cache while the tiles stream past, and the block's
// input rows are reused from L2 by each panel of the group. When a panel's weights would not
// fit in L2 (over 1 MiB: none of Inception v3's do), the input channels are cut into slices:
// the first slice starts from the bias, later ones add to the partial sums in the output, and
// the activation is applied after the last.
#pragma once

#include <cstdint>

#include "kernels/x86/conv2d_nhwc.h"

namespace poet::kernels::x86 {

template <class V>
struct BlockedConv {
  static constexpr int kRows = V::kTileRows;
  static constexpr int kVecs = 2;
  static constexpr int kPanel = kVecs * V::kWidth;
  using Reg = typename V::Reg;

  static ConvKernelInfo info() { return {kRows, kPanel, &run}; }

  static void run(const ConvTileJob& job, int64_t pixel_begin, int64_t pixel_end,
                  int64_t panel_begin, int64_t panel_end) {
    for (int64_t c0 = 0; c0 < job.in_c; c0 += job.c_block) {
      const Channels ch{c0, smaller(job.in_c, c0 + job.c_block)};
      for (int64_t panel = panel_begin; panel < panel_end; ++panel) {
        // A last panel with at most one vector of real channels skips the zero half.
        const bool half = job.out_c - panel * kPanel <= V::kWidth;
        for (int64_t p = pixel_begin; p < pixel_end; p += kRows) {
          const int rows = static_cast<int>(smaller(kRows, pixel_end - p));
          // A short last tile (8x8 = 5 x 12 + 4 pixels) runs a shorter kernel rather than
          // computing rows it throws away.
          if (rows <= kRows / 4) {
            tile_width<kRows / 4>(job, p, rows, panel, ch, half);
          } else if (rows <= kRows / 2) {
            tile_width<kRows / 2>(job, p, rows, panel, ch, half);
          } else {
            tile_width<kRows>(job, p, rows, panel, ch, half);
          }
        }
      }
    }
  }

 private:
  // The slice of input channels one pass reduces over.
  struct Channels {
    int64_t begin, end;
    bool first() const { return begin == 0; }
  };

  // Not std::min: everything instantiated here is compiled with this ISA's flags, and a shared
  // inline function emitted from this file could be picked by the linker for generic code.
  static int64_t smaller(int64_t a, int64_t b) { return a < b ? a : b; }

  template <int kM>
  static void tile_width(const ConvTileJob& job, int64_t p, int rows, int64_t panel, Channels ch,
                         bool half) {
    if (half) {
      tile<kM, 1>(job, p, rows, panel, ch);
    } else {
      tile<kM, 2>(job, p, rows, panel, ch);
    }
  }

  // Output pixels [p, p + rows) (rows <= kM) for the first kUsed vectors of one panel,
  // summing over channels `ch` of every tap. The first slice starts from the bias, later ones
  // from the partial sums already in the output.
  template <int kM, int kUsed>
  static void tile(const ConvTileJob& job, int64_t p, int rows, int64_t panel, Channels ch) {
    // Corner of each pixel's window in the (padded) input. Missing rows of a partial tile
    // repeat the last pixel, whose results are not stored.
    const float* corner[kM];
    for (int i = 0; i < kM; ++i) {
      const int64_t q = p + smaller(i, rows - 1);
      const int64_t y = q / job.out_w, x = q - y * job.out_w;
      corner[i] =
          job.input + (y * job.stride_h * job.row_pixels + x * job.stride_w) * job.pixel_floats;
    }
    const int64_t o0 = panel * kPanel;
    const int valid = static_cast<int>(smaller(kPanel, job.out_c - o0));
    float* out = job.output + p * job.out_c + o0;

    Reg acc[kM][kUsed];
    if (ch.first()) {
#pragma GCC unroll 16
      for (int i = 0; i < kM; ++i) {
#pragma GCC unroll 2
        for (int v = 0; v < kUsed; ++v) acc[i][v] = V::load(job.bias + o0 + v * V::kWidth);
      }
    } else {
#pragma GCC unroll 16
      for (int i = 0; i < kM; ++i) {
        const float* row = out + smaller(i, rows - 1) * job.out_c;
#pragma GCC unroll 2
        for (int v = 0; v < kUsed; ++v) acc[i][v] = load_valid(row, v, valid);
      }
    }

    const float* panel_weights = job.filter->weights() + panel * job.filter->panel_floats();
    for (size_t t = 0; t < job.tap_offsets.size(); ++t) {
      const float* in[kM];
#pragma GCC unroll 16
      for (int i = 0; i < kM; ++i) in[i] = corner[i] + job.tap_offsets[t];
      const float* w = panel_weights + (t * job.in_c + ch.begin) * kPanel;
      for (int64_t c = ch.begin; c < ch.end; ++c, w += kPanel) {
        Reg wv[kUsed];
#pragma GCC unroll 2
        for (int v = 0; v < kUsed; ++v) wv[v] = V::load(w + v * V::kWidth);
#pragma GCC unroll 16
        for (int i = 0; i < kM; ++i) {
          const Reg a = V::broadcast(in[i] + c);
#pragma GCC unroll 2
          for (int v = 0; v < kUsed; ++v) acc[i][v] = V::fmadd(a, wv[v], acc[i][v]);
        }
      }
    }
    const bool last = ch.end == job.in_c;
    store<kM, kUsed>(job, acc, out, rows, valid, last ? job.act : Activation::kNone);
  }

  // Vector v of a row's panel, zeros past the `valid` real channels.
  static Reg load_valid(const float* row, int v, int valid) {
    const int n = valid - v * V::kWidth;
    if (n >= V::kWidth) return V::load(row + v * V::kWidth);
    return n > 0 ? V::load_first(row + v * V::kWidth, n) : V::zero();
  }

  template <int kM, int kUsed>
  static void store(const ConvTileJob& job, Reg (&acc)[kM][kUsed], float* out, int rows, int valid,
                    Activation act) {
    const Reg zero = V::zero(), six = V::set1(6.f);
#pragma GCC unroll 16
    for (int i = 0; i < kM; ++i) {
      if (i >= rows) break;
#pragma GCC unroll 2
      for (int v = 0; v < kUsed; ++v) {
        Reg r = acc[i][v];
        if (act != Activation::kNone) r = V::max(r, zero);
        if (act == Activation::kRelu6) r = V::min(r, six);
        const int n = valid - v * V::kWidth;
        if (n >= V::kWidth) {
          V::store(out + i * job.out_c + v * V::kWidth, r);
        } else if (n > 0) {
          V::store_first(out + i * job.out_c + v * V::kWidth, r, n);
        }
      }
    }
  }
};

}  // namespace poet::kernels::x86
