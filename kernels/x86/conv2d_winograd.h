// Winograd Conv2D for x86 (AVX2+FMA or AVX-512), stride 1, no dilation, any padding:
// F(4x4, 3x3) for 3x3 filters, F(2x2, 5x5) for 5x5, F(1x4, 1x7) and F(4x1, 7x1) for 1x7 and
// 7x1, F(1x4, 1x3) and F(4x1, 3x1) for 1x3 and 3x1. Each block of output pixels (a tile: 4x4
// for 3x3, 2x2 for 5x5, 1x4 or 4x1 for the others) is computed from its input window (6x6;
// 1x10 for 1x7, 1x6 for 1x3) with one multiplication per window cell, input and output channel
// (36; 10; 6) instead of one per output pixel and filter tap (144 for 3x3, 100 for 5x5; 28; 12),
// at the price of a transform of the input window, of the filter (once, at load) and of the
// products:
//
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A      d: input window, g: filter, Y: output tile
//
// Summed over the input channels, the elementwise products become one matrix product
// (tiles x in_c) * (in_c x out_c) per cell of the window (a "point"), which runs on the direct
// convolution's register-blocked micro-kernel (conv2d_nhwc.h) as a 1x1 convolution.
//
//   WinogradFilter f = pack_winograd_filter(active_isa(), 3, 3, in_c, out_c, hwio_filter);
//   conv2d_winograd(shape, input, f, bias, Activation::kRelu, output, pool);
//
// Results match kernels::ref::conv2d up to float rounding, several times larger than the
// direct kernel's (the transforms add and subtract scaled values; see the interpolation points
// below and docs/PERFORMANCE.md, "Winograd").
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/conv_shape.h"
#include "kernels/x86/conv2d_nhwc.h"
#include "kernels/x86/cpu_features.h"

namespace poet {
class ThreadPool;
}

namespace poet::kernels::x86 {

// The transform matrices. A 2-D tile is made of two 1-D variants F(m, r), one along H and one
// along W: F(m, r) computes m outputs of an r-tap correlation from n = m + r - 1 inputs (the
// points) with n multiplications,
//
//   y = A^T [ (G g) (.) (B^T d) ]         A^T: m x n, G: n x r, B^T: n x n,
//
// and the 2-D transforms are the 1-D ones applied to the rows, then to the columns, of the
// window (B_h^T d B_w), of the filter (G_h g G_w^T) and of the products (A_h^T M A_w).
//
// The matrices are Toom-Cook's (Lavin & Gray 2015) for n - 1 finite interpolation points and
// infinity: A^T[i][j] = a_j^i; G[j][k] = a_j^k / prod_{l != j} (a_j - a_l); row j of B^T holds
// the coefficients (ascending powers) of prod_{l != j} (x - a_l), its last row those of
// prod_l (x - a_l).
namespace winograd {

// F(1, 1), the identity: the variant along the axis a 1 x r or r x 1 filter does not span.
struct F1_1 {
  static constexpr int kOut = 1, kWindow = 1, kPoints = 1;
  static constexpr double kBT[1][1] = {{1}}, kAT[1][1] = {{1}}, kG[1][1] = {{1}};
};

// Six points, 0, 1, -1, 1/2, -2 and infinity, for both 2-D variants. Of the sets of five
// finite points whose transforms hold only powers of two and small integers, this one (Barabasz
// et al. 2020) gave the smallest error in float: 2-3x below 0, +-1, +-2 and 0, +-1, +-1/2 (a
// scalar model of the kernel, 2000 tiles of random channels, max error relative to the
// output's largest value: F(4x4, 3x3) on 96 channels 2.8e-6 against 7.7e-6 and 6.7e-6, direct
// convolution 1.2e-6; F(2x2, 5x5) on 48 channels 1.4e-6 against 3.6e-6 and 2.9e-6, direct
// 1.0e-6). B^T depends only on the points, so both share the input transform. The point 1/2 puts
// fractions in A^T and B^T, but only powers of two and halves: every entry is exact in float.
// G's thirds and fifteenths only ever meet the filter, transformed in double.
inline constexpr double kBT6[6][6] = {
    {1, -1.5, -2, 1.5, 1, 0}, {0, -1, 0.5, 2.5, 1, 0},  {0, 1, -2.5, 0.5, 1, 0},
    {0, -2, -1, 2, 1, 0},     {0, 0.5, -1, -0.5, 1, 0}, {0, 1, -1.5, -2, 1.5, 1},
};
struct F4_3 {
  static constexpr int kOut = 4;     // m: outputs
  static constexpr int kWindow = 3;  // r: filter taps
  static constexpr int kPoints = 6;  // n = m + r - 1
  static constexpr const auto& kBT = kBT6;
  static constexpr double kAT[4][6] = {
      {1, 1, 1, 1, 1, 0},
      {0, 1, -1, 0.5, -2, 0},
      {0, 1, 1, 0.25, 4, 0},
      {0, 1, -1, 0.125, -8, 1},
  };
  static constexpr double kG[6][3] = {
      {1, 0, 0},
      {1.0 / 3, 1.0 / 3, 1.0 / 3},
      {-1.0 / 3, 1.0 / 3, -1.0 / 3},
      {-16.0 / 15, -8.0 / 15, -4.0 / 15},
      {1.0 / 15, -2.0 / 15, 4.0 / 15},
      {0, 0, 1},
  };
};
struct F2_5 {
  static constexpr int kOut = 2;
  static constexpr int kWindow = 5;
  static constexpr int kPoints = 6;
  static constexpr const auto& kBT = kBT6;
  static constexpr double kAT[2][6] = {
      {1, 1, 1, 1, 1, 0},
      {0, 1, -1, 0.5, -2, 1},
  };
  static constexpr double kG[6][5] = {
      {1, 0, 0, 0, 0},
      {1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3},
      {-1.0 / 3, 1.0 / 3, -1.0 / 3, 1.0 / 3, -1.0 / 3},
      {-16.0 / 15, -8.0 / 15, -4.0 / 15, -2.0 / 15, -1.0 / 15},
      {1.0 / 15, -2.0 / 15, 4.0 / 15, -8.0 / 15, 16.0 / 15},
      {0, 0, 0, 0, 1},
  };
};

// F(4, 7) on ten points: 0, 1, -1, 3/2, -3/2, 2/3, -2/3, 4, -1/4 and infinity (2.8 times fewer
// multiplications than the direct 28). Chosen in the scalar model above (192 channels, 2500
// tiles, 3 seeds) from all sets of 0, +-1 and six of +-2, +-1/2, +-4, +-1/4, +-3/2, +-2/3, +-3,
// +-1/3: max error 6-7e-6 of the output's largest value, the direct convolution's 1.2e-6. The
// sets of powers of two only are 2-4 times worse (0, +-1, +-2, +-1/2 with +-4: 2.5e-5, with
// +-1/4: 2.7e-5, with 4 and 1/4: 1.1e-5): the points must spread without growing, and 3/2 and
// 2/3 lie between 1 and 2. Thirds make some entries of A^T and B^T inexact in float (rounded
// once, like any product); scaling those rows to integers measured no better.
struct F4_7 {
  static constexpr int kOut = 4;
  static constexpr int kWindow = 7;
  static constexpr int kPoints = 10;
  static constexpr double kBT[10][10] = {
      {1, 3.75, -169.0 / 36, -665.0 / 48, 133.0 / 18, 665.0 / 48, -169.0 / 36, -3.75, 1, 0},
      {0, -1, -4.75, -1.0 / 18, 1987.0 / 144, 923.0 / 144, -67.0 / 9, -2.75, 1, 0},
      {0, 1, 2.75, -67.0 / 9, -923.0 / 144, 1987.0 / 144, 1.0 / 18, -4.75, 1, 0},
      {0, -2.0 / 3, -53.0 / 18, 7.0 / 6, 721.0 / 72, 1.75, -581.0 / 72, -2.25, 1, 0},
      {0, 2.0 / 3, 37.0 / 18, -4.5, -449.0 / 72, 109.0 / 12, 229.0 / 72, -5.25, 1, 0},
      {0, -1.5, -7.875, -229.0 / 48, 13.625, 449.0 / 48, -6.75, -37.0 / 12, 1, 0},
      {0, 1.5, 3.375, -581.0 / 48, -2.625, 721.0 / 48, -1.75, -53.0 / 12, 1, 0},
      {0, -0.25, -1, 133.0 / 144, 133.0 / 36, -133.0 / 144, -133.0 / 36, 0.25, 1, 0},
      {0, 4, -1, -133.0 / 9, 133.0 / 36, 133.0 / 9, -133.0 / 36, -4, 1, 0},
      {0, 1, 3.75, -169.0 / 36, -665.0 / 48, 133.0 / 18, 665.0 / 48, -169.0 / 36, -3.75, 1},
  };
  static constexpr double kAT[4][10] = {
      {1, 1, 1, 1, 1, 1, 1, 1, 1, 0},
      {0, 1, -1, 1.5, -1.5, 2.0 / 3, -2.0 / 3, 4, -0.25, 0},
      {0, 1, 1, 2.25, 2.25, 4.0 / 9, 4.0 / 9, 16, 0.0625, 0},
      {0, 1, -1, 3.375, -3.375, 8.0 / 27, -8.0 / 27, 64, -0.015625, 1},
  };
  static constexpr double kG[10][7] = {
      {1, 0, 0, 0, 0, 0, 0},
      {24.0 / 125, 24.0 / 125, 24.0 / 125, 24.0 / 125, 24.0 / 125, 24.0 / 125, 24.0 / 125},
      {-24.0 / 125, 24.0 / 125, -24.0 / 125, 24.0 / 125, -24.0 / 125, 24.0 / 125, -24.0 / 125},
      {-256.0 / 11375, -384.0 / 11375, -576.0 / 11375, -864.0 / 11375, -1296.0 / 11375,
       -1944.0 / 11375, -2916.0 / 11375},
      {256.0 / 17875, -384.0 / 17875, 576.0 / 17875, -864.0 / 17875, 1296.0 / 17875,
       -1944.0 / 17875, 2916.0 / 17875},
      {-6561.0 / 17875, -4374.0 / 17875, -2916.0 / 17875, -1944.0 / 17875, -1296.0 / 17875,
       -864.0 / 17875, -576.0 / 17875},
      {6561.0 / 11375, -4374.0 / 11375, 2916.0 / 11375, -1944.0 / 11375, 1296.0 / 11375,
       -864.0 / 11375, 576.0 / 11375},
      {3.0 / 163625, 12.0 / 163625, 48.0 / 163625, 192.0 / 163625, 768.0 / 163625, 3072.0 / 163625,
       12288.0 / 163625},
      {-196608.0 / 163625, 49152.0 / 163625, -12288.0 / 163625, 3072.0 / 163625, -768.0 / 163625,
       192.0 / 163625, -48.0 / 163625},
      {0, 0, 0, 0, 0, 0, 1},
  };
};

// A tile: variant H along the image's height, W along its width.
template <class H, class W>
struct Tile {
  using AlongH = H;
  using AlongW = W;
  static constexpr int kPointsH = H::kPoints, kPointsW = W::kPoints;
  static constexpr int kPoints = kPointsH * kPointsW;  // matrix products per tile
};

// Calls f(Tile<H, W>()) for the tile that computes a k_h x k_w filter and returns true, or
// returns false when there is none.
template <class Fn>
bool visit_tile(int64_t k_h, int64_t k_w, Fn&& f) {
  if (k_h == 3 && k_w == 3) {
    f(Tile<F4_3, F4_3>());
  } else if (k_h == 5 && k_w == 5) {
    f(Tile<F2_5, F2_5>());
  } else if (k_h == 1 && k_w == 7) {
    f(Tile<F1_1, F4_7>());
  } else if (k_h == 7 && k_w == 1) {
    f(Tile<F4_7, F1_1>());
  } else if (k_h == 1 && k_w == 3) {
    f(Tile<F1_1, F4_3>());
  } else if (k_h == 3 && k_w == 1) {
    f(Tile<F4_3, F1_1>());
  } else {
    return false;
  }
  return true;
}

}  // namespace winograd

// True when conv2d_winograd can run `shape`: a 3x3, 5x5, 1x7, 7x1, 1x3 or 3x1 window, stride
// 1, no dilation.
bool winograd_applies(const ConvShape& shape);

// The transformed filter U = G_h g G_w^T, one 1x1 filter [in_c][out_c] per point (i, j) of the
// tile (points[i * points_w + j]), each packed for the ISA's micro-kernel like a direct filter.
struct WinogradFilter {
  Isa isa = Isa::kRef;
  int64_t k_h = 0, k_w = 0;
  int64_t in_c = 0, out_c = 0;
  std::vector<PackedConvFilter> points;
  std::vector<float> zeros;  // a bias of zeros for the products, one per packed output channel
};

// `isa` must be kAvx2 or kAvx512 and available here; `filter` is HWIO [k_h][k_w][in_c][out_c],
// a window winograd_applies to.
WinogradFilter pack_winograd_filter(Isa isa, int64_t k_h, int64_t k_w, int64_t in_c, int64_t out_c,
                                    std::span<const float> filter);

// output = act(conv(input, filter) + bias), like kernels::ref::conv2d, for a shape that
// winograd_applies to. `bias` may be empty; `pool` may be null (single-threaded). Results do
// not depend on the number of threads.
void conv2d_winograd(const ConvShape& shape, std::span<const float> input,
                     const WinogradFilter& filter, std::span<const float> bias, Activation act,
                     std::span<float> output, ThreadPool* pool);

// --- Interface between the driver and the per-ISA transforms (conv2d_winograd_<isa>.cc).

// V = B_h^T d B_w for channels [0, channels) of one input window of points_h x points_w cells:
// cell (i, j) channel c of d is window[i * row_stride + j * pixel_stride + c]; point (i, j) of
// V goes to v[(i * points_w + j) * point_stride + c]. Writes whole vectors: channels rounded up
// to the vector width, the lanes past `channels` zero.
using WinogradInputFn = void (*)(const float* window, int64_t row_stride, int64_t pixel_stride,
                                 int64_t channels, float* v, int64_t point_stride);
// Y = act(A_h^T M A_w + bias) for channels [0, channels) of one tile, point (i, j) of M channel
// c at m[(i * points_w + j) * point_stride + c]; output pixel (y, x) for y < rows, x < cols (at
// most the tile's m_h x m_w) goes to out[y * row_stride + x * pixel_stride + c]. `bias` is
// never null.
using WinogradOutputFn = void (*)(const float* m, int64_t point_stride, int64_t channels,
                                  const float* bias, Activation act, float* out, int64_t row_stride,
                                  int64_t pixel_stride, int rows, int cols);
struct WinogradTransforms {
  WinogradInputFn input;
  WinogradOutputFn output;
};
// The transforms of the tile for a k_h x k_w filter (one winograd_applies to).
WinogradTransforms winograd_transforms_avx2(int64_t k_h, int64_t k_w);
WinogradTransforms winograd_transforms_avx512(int64_t k_h, int64_t k_w);

}  // namespace poet::kernels::x86
