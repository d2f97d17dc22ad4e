// The register-blocked Conv2D micro-kernel, written once for any SIMD width. Included only by
// conv2d_nhwc_<isa>.cc, each compiled with its ISA's flags, with a traits type `V`:
//   V::Reg                 the vector register type (__m256, __m512)
//   V::kWidth              floats per register
//   V::kTileRows           output pixels per micro-tile (MR)
//   V::load/broadcast/fmadd/zero/max/min/set1, store(p, r), store_first(p, r, n)
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
// panels, looping panel-outer / tile-inner so one panel's weights (taps*in_c*2*kWidth floats,
// at most ~0.5 MiB for Inception v3's 3x3x448 with AVX-512) stay in L2 while the tiles stream
// past; the block's input rows are reused from L2 by each panel of the group.
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
    for (int64_t panel = panel_begin; panel < panel_end; ++panel) {
      for (int64_t p = pixel_begin; p < pixel_end; p += kRows) {
        tile(job, p, static_cast<int>(smaller(kRows, pixel_end - p)), panel);
      }
    }
  }

 private:
  // Not std::min: everything instantiated here is compiled with this ISA's flags, and a shared
  // inline function emitted from this file could be picked by the linker for generic code.
  static int64_t smaller(int64_t a, int64_t b) { return a < b ? a : b; }

  // Output pixels [p, p + rows) (rows <= kRows) for one panel.
  static void tile(const ConvTileJob& job, int64_t p, int rows, int64_t panel) {
    // Corner of each pixel's window in the (padded) input. Missing rows of a partial tile
    // repeat the last pixel, whose results are not stored.
    const float* corner[kRows];
    for (int i = 0; i < kRows; ++i) {
      const int64_t q = p + smaller(i, rows - 1);
      const int64_t y = q / job.out_w, x = q - y * job.out_w;
      corner[i] = job.input + (y * job.stride_h * job.row_pixels + x * job.stride_w) * job.in_c;
    }
    const int64_t in_c = job.in_c;
    const float* w = job.filter->weights() + panel * job.filter->panel_floats();
    const float* bias = job.bias + panel * kPanel;

    Reg acc[kRows][kVecs];
#pragma GCC unroll 16
    for (int i = 0; i < kRows; ++i) {
#pragma GCC unroll 4
      for (int v = 0; v < kVecs; ++v) acc[i][v] = V::load(bias + v * V::kWidth);
    }

    for (const int64_t offset : job.tap_offsets) {
      const float* in[kRows];
#pragma GCC unroll 16
      for (int i = 0; i < kRows; ++i) in[i] = corner[i] + offset;
      for (int64_t c = 0; c < in_c; ++c, w += kPanel) {
        const Reg w0 = V::load(w), w1 = V::load(w + V::kWidth);
#pragma GCC unroll 16
        for (int i = 0; i < kRows; ++i) {
          const Reg a = V::broadcast(in[i] + c);
          acc[i][0] = V::fmadd(a, w0, acc[i][0]);
          acc[i][1] = V::fmadd(a, w1, acc[i][1]);
        }
      }
    }
    store(job, acc, p, rows, panel);
  }

  static void store(const ConvTileJob& job, Reg (&acc)[kRows][kVecs], int64_t p, int rows,
                    int64_t panel) {
    const int64_t o0 = panel * kPanel;
    const int valid = static_cast<int>(smaller(kPanel, job.out_c - o0));
    const Reg zero = V::zero(), six = V::set1(6.f);
    float* out = job.output + p * job.out_c + o0;
#pragma GCC unroll 16
    for (int i = 0; i < kRows; ++i) {
      if (i >= rows) break;
#pragma GCC unroll 4
      for (int v = 0; v < kVecs; ++v) {
        Reg r = acc[i][v];
        if (job.act != Activation::kNone) r = V::max(r, zero);
        if (job.act == Activation::kRelu6) r = V::min(r, six);
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
