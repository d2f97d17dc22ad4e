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
#include <string_view>
#include <utility>

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

// What every filter packing checks first, failing with a message that starts with `packer`:
// that `isa` runs here and that `filter` holds k_h x k_w x in_c x out_c floats.
void check_filter_to_pack(std::string_view packer, Isa isa, int64_t k_h, int64_t k_w, int64_t in_c,
                          int64_t out_c, std::span<const float> filter);

// output = act(conv(input, filter) + bias), like kernels::ref::conv2d. `bias` may be empty;
// `pool` may be null (single-threaded). The filter's sizes must match `shape`.
void conv2d_nhwc(const ConvShape& shape, std::span<const float> input,
                 const PackedConvFilter& filter, std::span<const float> bias, Activation act,
                 std::span<float> output, ThreadPool* pool);

// How the kernels read an image whose pixels lie a multiple of 4 KiB apart (in_c a multiple of
// 1024). A micro-tile reads its rows' pixels at the same offset at once, so they all fall in
// one L1 set, beside a line of weights; where the set has fewer ways than that, they evict
// each other, and the kernels read a copy whose pixels are 64 bytes further apart instead.
// kAuto decides from the machine's L1 (space_conv_input); the others force a layout (tests).
enum class InputSpacing { kAuto, kInPlace, kSpaced };

// kAuto's rule: copy when in_c is a multiple of 1024 and a tile's rows plus a line of weights
// exceed the L1 data cache's ways (`l1d_ways`; 0, unknown, counts as 8). Measured: on Zen 4
// (8 ways) the copy paid for AVX-512's 8- and 12-row tiles on Inception's 2048-channel layers;
// on Zen 3 (8 ways) reading in place was 3-10% faster for AVX2's 6 rows; on Zen 5 (12 ways),
// for 8-row tiles, in place took Inception's four 8x8x2048 1x1 layers from 2.64 to 2.28 ms a
// run on one thread and from 1.55 to 1.35 on two (where one core made the copy both read).
bool space_conv_input(int64_t in_c, int tile_rows, int l1d_ways);

// Shares per thread into which conv2d_nhwc and conv2d_winograd cut a loop of `macs`
// multiply-adds split over the threads (each share one chunk of the pool's contiguous
// schedule): the pool's ThreadPool::kChunksPerThread, and twice that from kFineShareMacs on. A
// thread out of shares takes the other's last one not yet started, and when none is left waits
// for the one running, so a layer ends about half a share after its faster thread (the two
// vCPUs here run at speeds that differ and change from one moment to the next: 5% of the
// threads' time in Inception v3's loops went to such waits). Finer shares cost locality: measured
// in the graph on Inception v3 at batch 1 on two threads, 8-10 alternated runs of 4 s each way,
// eight shares per thread took the four layers of 199-697M multiply-adds (conv_1, conv_2, conv_4,
// mixed_3/conv) from 4.95-5.00 to 4.76-4.80 ms a run, sixteen did no better, and eight for every
// layer ran the graph 6% slower (the 35x35 Winograd 3x3 layers to 96 channels, 68-102M, 20-30%
// slower each).
inline constexpr int64_t kFineShareMacs = 150'000'000;
int64_t conv_shares_per_thread(int64_t macs);

// What conv2d_nhwc works out from the layer's shape alone: the regions and tiles that skip the
// padding and the split of each image's work over the threads. A layer run again and again
// keeps one (the Conv2D op caches it): planning on every call took ~3% of MobileNet v1
// 0.25_128's time at batch 1.
class Conv2dNhwcPlan {
 public:
  // What a plan is for: the layer's shape, the kernel (the packed filter's ISA) and the size
  // of the pool that runs it (1: no pool).
  struct Key {
    ConvShape shape;
    Isa isa = Isa::kRef;
    int threads = 1;
    friend bool operator==(const Key&, const Key&) = default;
  };
  Conv2dNhwcPlan(const ConvShape& shape, const PackedConvFilter& filter, int threads,
                 InputSpacing spacing = InputSpacing::kAuto);
  ~Conv2dNhwcPlan();
  Conv2dNhwcPlan(Conv2dNhwcPlan&&) noexcept;
  Conv2dNhwcPlan& operator=(Conv2dNhwcPlan&&) noexcept;

  const Key& shape() const { return key_; }

  // The output pixels [first, last) (row-major, a batch of 1x1 convolutions counted as one
  // image) that the tiles of `thread`'s own shares cover, any panel: where that thread writes
  // unless it steals or is stolen from (ThreadPool::owned_items).
  std::pair<int64_t, int64_t> thread_pixels(int thread) const;

 private:
  friend void conv2d_nhwc(const Conv2dNhwcPlan&, std::span<const float>, const PackedConvFilter&,
                          std::span<const float>, Activation, std::span<float>, ThreadPool*);
  struct Data;
  Key key_;
  std::unique_ptr<const Data> data_;
};

// The same with a plan made for this filter's ISA and the pool's size.
void conv2d_nhwc(const Conv2dNhwcPlan& plan, std::span<const float> input,
                 const PackedConvFilter& filter, std::span<const float> bias, Activation act,
                 std::span<float> output, ThreadPool* pool);

// --- Interface between the generic driver and the per-ISA kernels (conv2d_nhwc_<isa>.cc). ---
//
// The driver never pads the image. It cuts the output into regions: rectangles of pixels whose
// windows have the same taps inside the image (SAME 3x3: the interior, four edges and four
// corners; a VALID layer is one region). Each region lists only those taps, so the kernels
// never multiply the zeros of the padding and never check borders.

// A run of a window that lies in the image: `length` consecutive floats of every pixel's input,
// multiplied with `length` consecutive rows of a filter panel. One (ky, kx) tap has length
// in_c; with no dilation along x and the image read in place, a whole row of taps
// (kx, c) is contiguous in both the image and the packed filter, and is one run.
struct ConvTap {
  int64_t input_offset = 0;   // floats from the pixel's first valid tap
  int64_t weight_offset = 0;  // floats from the panel's start: ((ky*k_w + kx)*in_c) * panel_width
  int64_t length = 0;
};

// Output pixels (y0 + k / width, x0 + k % width) for k in [0, width * height). Pixel (y0, x0)'s
// first valid tap reads input cell (in_y0, in_x0); pixel (y0 + dy, x0 + dx)'s reads
// (in_y0 + dy * stride_h, in_x0 + dx * stride_w).
struct ConvRegion {
  int64_t y0 = 0, x0 = 0, width = 0, height = 0;
  int64_t in_y0 = 0, in_x0 = 0;
  int64_t tap_begin = 0, tap_end = 0;  // into ConvTileJob::taps; empty: the output is the bias
};

// Pixels [first, first + rows) of a region in row-major order, rows <= the kernel's
// tile_pixels; the first is pixel (dy, dx) of the region.
struct ConvTile {
  int64_t region = 0, dy = 0, dx = 0;
  int rows = 0;
};

// One batch item's convolution, as the ISA kernels see it.
struct ConvTileJob {
  const float* input = nullptr;  // [in_h][row_pixels][pixel_floats], in_c used per pixel
  int64_t row_pixels = 0;
  int64_t pixel_floats = 0;
  // The reduction is cut into slices [c, c + c_block) of every run (see conv2d_nhwc_blocked.h);
  // c_block >= the longest run: one slice.
  int64_t c_block = 0, max_run = 0;
  int64_t out_w = 0, out_c = 0;
  int64_t out_stride = 0;  // floats from one output pixel to the next (out_c when dense)
  int64_t stride_h = 1, stride_w = 1;
  std::span<const ConvTap> taps;
  std::span<const ConvRegion> regions;
  std::span<const ConvTile> tiles;
  const PackedConvFilter* filter = nullptr;
  const float* bias = nullptr;  // num_panels * panel_width floats (zero-padded), never null
  Activation act = Activation::kNone;
  float* output = nullptr;  // [out_h * out_w][out_stride], out_c used per pixel
  // Fetch, for writing, the lines a tile's pixels store kOutputAheadTiles tiles later
  // (conv2d_nhwc_blocked.h); conv2d_nhwc sets it where prefetches_output says so.
  bool prefetch_output = false;
};

// Unsliced, each tile runs a group of panels in turn whose weights take at most this many
// bytes (tile-outer, see conv2d_nhwc_blocked.h): with the next group's, prefetched meanwhile,
// half of a 512 KiB L2.
inline constexpr int64_t kTileOuterWeightBytes = 128 * 1024;
inline int64_t tile_outer_panels(const PackedConvFilter& filter) {
  const int64_t panel_bytes = filter.panel_floats() * int64_t{sizeof(float)};
  if (panel_bytes == 0) return filter.num_panels > 1 ? filter.num_panels : 1;  // no input
  return panel_bytes >= kTileOuterWeightBytes ? 1 : kTileOuterWeightBytes / panel_bytes;
}

// Tiles [tile_begin, tile_end) of job.tiles for the filter panels in [panel_begin, panel_end).
using ConvTileFn = void (*)(const ConvTileJob& job, int64_t tile_begin, int64_t tile_end,
                            int64_t panel_begin, int64_t panel_end);

struct ConvKernelInfo {
  int tile_pixels;  // output pixels per micro-tile
  int panel_width;  // output channels per panel
  ConvTileFn run;
};
ConvKernelInfo conv2d_nhwc_avx2_kernel();
// The kernel's shape depends on the layer's output channels (see conv2d_nhwc_avx512.cc); the
// filter is packed for the kernel chosen for its out_c.
ConvKernelInfo conv2d_nhwc_avx512_kernel(int64_t out_c);

}  // namespace poet::kernels::x86
