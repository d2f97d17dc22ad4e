// Fast NHWC Conv2D for x86 (AVX2+FMA or AVX-512), with the filter packed once ahead of time.
//
//   PackedConvFilter f = pack_conv_filter(active_isa(), kh, kw, in_c, out_c, hwio_filter);
//   conv2d_nhwc(shape, input, f, bias, Activation::kRelu, output, pool);
//
// Handles any padding, stride and dilation; results match kernels/ref/conv2d up to float
// rounding (the sums are taken in a different order).
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "kernels/conv_shape.h"
#include "kernels/x86/cpu_features.h"

namespace poet {
class ThreadPool;
}

namespace poet::kernels::x86 {

// An HWIO filter rearranged for one ISA's micro-kernel: output channels are cut into panels of
// `panel_width` (two SIMD vectors), and each panel stores its weights [ky][kx][c][panel_width]
// contiguously, so the kernel reads them in order with vector loads. Channels past out_c in
// the last panel are zero.
struct PackedConvFilter {
  Isa isa = Isa::kRef;
  int64_t k_h = 0, k_w = 0, in_c = 0, out_c = 0;
  int64_t panel_width = 0, num_panels = 0;
  std::shared_ptr<std::byte> storage;  // 64-byte aligned floats

  const float* weights() const { return reinterpret_cast<const float*>(storage.get()); }
  int64_t panel_floats() const { return k_h * k_w * in_c * panel_width; }
};

// `isa` must be kAvx2 or kAvx512 and available on this machine; `filter` is HWIO.
PackedConvFilter pack_conv_filter(Isa isa, int64_t k_h, int64_t k_w, int64_t in_c, int64_t out_c,
                                  std::span<const float> filter);

// output = act(conv(input, filter) + bias), like kernels::ref::conv2d. `bias` may be empty;
// `pool` may be null (single-threaded). The filter's sizes must match `shape`.
void conv2d_nhwc(const ConvShape& shape, std::span<const float> input,
                 const PackedConvFilter& filter, std::span<const float> bias, Activation act,
                 std::span<float> output, ThreadPool* pool);

// --- Interface between the generic driver and the per-ISA kernels (conv2d_nhwc_<isa>.cc). ---

// One batch item's convolution, as the ISA kernels see it: every window lies inside `input`
// (the driver has padded the image when needed), so the kernels never check borders.
struct ConvTileJob {
  const float* input = nullptr;  // [rows][row_pixels][pixel_floats], in_c used per pixel
  int64_t row_pixels = 0;
  int64_t pixel_floats = 0;
  int64_t in_c = 0;
  int64_t c_block = 0;  // input channels summed per pass (see conv2d_nhwc_blocked.h)
  int64_t out_w = 0, out_c = 0;
  int64_t stride_h = 1, stride_w = 1;
  std::span<const int64_t> tap_offsets;  // per (ky, kx): float offset from a window's corner
  const PackedConvFilter* filter = nullptr;
  const float* bias = nullptr;  // num_panels * panel_width floats (zero-padded), never null
  Activation act = Activation::kNone;
  float* output = nullptr;  // [out_h * out_w][out_c]
};

// Output pixels (row-major y*out_w + x) in [pixel_begin, pixel_end) for the filter panels in
// [panel_begin, panel_end).
using ConvTileFn = void (*)(const ConvTileJob& job, int64_t pixel_begin, int64_t pixel_end,
                            int64_t panel_begin, int64_t panel_end);

struct ConvKernelInfo {
  int tile_pixels;  // output pixels per micro-tile
  int panel_width;  // output channels per panel
  ConvTileFn run;
};
ConvKernelInfo conv2d_nhwc_avx2_kernel();
ConvKernelInfo conv2d_nhwc_avx512_kernel();

}  // namespace poet::kernels::x86
