// Winograd Conv2D on 6x6 tiles for x86 (AVX2+FMA or AVX-512): F(4x4, 3x3) for 3x3 filters and
// F(2x2, 5x5) for 5x5 filters, stride 1, no dilation, any padding. Each m x m block of output
// pixels (m = 4 for 3x3, 2 for 5x5) is computed from its 6x6 input window with 36
// multiplications per input and output channel instead of 144 (3x3) or 100 (5x5), at the price
// of a transform of the input window, of the filter (once, at load) and of the 36 products:
//
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A      d: 6x6 input, g: r x r filter, Y: m x m output
//
// Summed over the input channels, the 36 elementwise products become 36 matrix products
// (tiles x in_c) * (in_c x out_c), which run on the direct convolution's register-blocked
// micro-kernel (conv2d_nhwc.h) as 1x1 convolutions.
//
//   WinogradFilter f = pack_winograd_filter(active_isa(), 3, in_c, out_c, hwio_filter);
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

// The transform matrices (Toom-Cook, Lavin & Gray 2015) for the interpolation points
// 0, 1, -1, 1/2, -2 and infinity. Of the sets of five finite points whose transforms hold only
// powers of two and small integers, this one (Barabasz et al. 2020) gave the smallest error in
// float, for both variants: 2-3x below 0, +-1, +-2 and 0, +-1, +-1/2 (a scalar model of the
// kernel, 2000 tiles of random channels, max error relative to the output's largest value:
// F(4x4, 3x3) on 96 channels 2.8e-6 against 7.7e-6 and 6.7e-6, direct convolution 1.2e-6;
// F(2x2, 5x5) on 48 channels 1.4e-6 against 3.6e-6 and 2.9e-6, direct 1.0e-6).
// B^T depends only on the points, so both variants share the input transform. The point 1/2
// puts fractions in A^T and B^T, but only powers of two and halves: every entry is exact in
// float. G's thirds and fifteenths only ever meet the filter, transformed in double.
namespace winograd_6x6 {
inline constexpr int kTile = 6;     // input window (and transformed tile) size
inline constexpr int kPoints = 36;  // kTile * kTile: matrix products per tile
inline constexpr double kBT[6][6] = {
    {1, -1.5, -2, 1.5, 1, 0}, {0, -1, 0.5, 2.5, 1, 0},  {0, 1, -2.5, 0.5, 1, 0},
    {0, -2, -1, 2, 1, 0},     {0, 0.5, -1, -0.5, 1, 0}, {0, 1, -1.5, -2, 1.5, 1},
};
struct F4x4_3x3 {
  static constexpr int kOut = 4;     // output pixels per tile side
  static constexpr int kWindow = 3;  // filter size
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
struct F2x2_5x5 {
  static constexpr int kOut = 2;
  static constexpr int kWindow = 5;
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
}  // namespace winograd_6x6

// True when conv2d_winograd can run `shape`: a 3x3 or 5x5 window, stride 1, no dilation.
bool winograd_applies(const ConvShape& shape);

// The transformed filter U = G g G^T, one 1x1 filter [in_c][out_c] per point (i, j) of the 6x6
// tile (points[i * 6 + j]), each packed for the ISA's micro-kernel like a direct filter.
struct WinogradFilter {
  Isa isa = Isa::kRef;
  int64_t window = 0;  // 3: F(4x4, 3x3); 5: F(2x2, 5x5)
  int64_t in_c = 0, out_c = 0;
  std::vector<PackedConvFilter> points;
  std::vector<float> zeros;  // a bias of zeros for the products, one per packed output channel
};

// `isa` must be kAvx2 or kAvx512 and available here; `filter` is HWIO
// [window][window][in_c][out_c], window 3 or 5.
WinogradFilter pack_winograd_filter(Isa isa, int64_t window, int64_t in_c, int64_t out_c,
                                    std::span<const float> filter);

// output = act(conv(input, filter) + bias), like kernels::ref::conv2d, for a shape that
// winograd_applies to. `bias` may be empty; `pool` may be null (single-threaded). Results do
// not depend on the number of threads.
void conv2d_winograd(const ConvShape& shape, std::span<const float> input,
                     const WinogradFilter& filter, std::span<const float> bias, Activation act,
                     std::span<float> output, ThreadPool* pool);

// --- Interface between the driver and the per-ISA transforms (conv2d_winograd_6x6_<isa>.cc).

// V = B^T d B for channels [0, channels) of one 6x6 window: cell (i, j) channel c of d is
// window[i * row_stride + j * pixel_stride + c]; point (i, j) of V goes to
// v[(i * 6 + j) * point_stride + c]. Writes whole vectors: channels rounded up to the vector
// width, the lanes past `channels` zero.
using WinogradInputFn = void (*)(const float* window, int64_t row_stride, int64_t pixel_stride,
                                 int64_t channels, float* v, int64_t point_stride);
// Y = act(A^T M A + bias) for channels [0, channels) of one tile, point (i, j) of M channel c at
// m[(i * 6 + j) * point_stride + c]; output pixel (y, x) for y < rows, x < cols (at most the
// variant's m) goes to out[y * row_stride + x * pixel_stride + c]. `bias` is never null.
using WinogradOutputFn = void (*)(const float* m, int64_t point_stride, int64_t channels,
                                  const float* bias, Activation act, float* out, int64_t row_stride,
                                  int64_t pixel_stride, int rows, int cols);
struct WinogradTransforms {
  WinogradInputFn input;
  WinogradOutputFn output;
};
// The transforms of the variant for `window` (3 or 5).
WinogradTransforms winograd_6x6_avx2(int64_t window);
WinogradTransforms winograd_6x6_avx512(int64_t window);

}  // namespace poet::kernels::x86
