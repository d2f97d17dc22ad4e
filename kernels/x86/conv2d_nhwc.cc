// The ISA-independent half of the fast Conv2D: filter packing, cutting the output into regions
// and tiles that skip the padding, and splitting the work over threads. The arithmetic is in
// conv2d_nhwc_blocked.h.
#include "kernels/x86/conv2d_nhwc.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "engine/error.h"
#include "engine/tensor.h"
#include "engine/thread_pool.h"
#include "kernels/x86/prefetch_for_writing.h"

namespace poet::kernels::x86 {
namespace {

ConvKernelInfo kernel_for(Isa isa, int64_t out_c) {
  if (isa == Isa::kAvx512) return conv2d_nhwc_avx512_kernel(out_c);
  if (isa == Isa::kAvx2) return conv2d_nhwc_avx2_kernel();
  fail_no_simd_kernel("conv2d_nhwc", isa);
}

bool pixels_4kib_apart(int64_t in_c) { return in_c > 0 && in_c % 1024 == 0; }

// A batch item's input as the kernels read it: the image itself, or a copy whose pixels are 64
// bytes further apart (InputSpacing). (Padding needs no copy: the kernels never read it, see
// TilePlan.)
class InputLayout {
 public:
  InputLayout(const ConvShape& s, int64_t pitch) : s_(s), pitch_(pitch) {
    if (copied()) scratch_ = allocate_aligned(s.in_h * s.in_w * pitch_ * sizeof(float));
  }

  // Floats from one pixel to the next in the image the kernels read.
  static int64_t pitch(const ConvShape& s, int tile_pixels, InputSpacing spacing) {
    const bool spaced = spacing == InputSpacing::kAuto
                            ? space_conv_input(s.in_c, tile_pixels, cpu_features().l1d_ways)
                            : spacing == InputSpacing::kSpaced && pixels_4kib_apart(s.in_c);
    return spaced ? s.in_c + 16 : s.in_c;
  }

  bool copied() const { return pitch_ != s_.in_c; }

  const float* image(const float* in, ThreadPool* pool) {
    if (!copied()) return in;
    float* out = reinterpret_cast<float*>(scratch_.get());
    parallel_for(pool, s_.in_h, 8, [&](int64_t begin, int64_t end) {
      for (int64_t x = begin * s_.in_w; x < end * s_.in_w; ++x)
        std::memcpy(out + x * pitch_, in + x * s_.in_c, s_.in_c * sizeof(float));
    });
    return out;
  }

 private:
  const ConvShape& s_;
  int64_t pitch_ = 0;
  std::shared_ptr<std::byte> scratch_;
};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Outputs [out_begin, out_end) along one axis whose windows have the same taps
// [k_begin, k_end) inside the image.
struct AxisRun {
  int64_t out_begin, out_end, k_begin, k_end;
};

// Output o's tap k reads cell o * stride - pad + k * dilation, in the image when in [0, in).
// SAME padding gives a run per border output and one for the interior.
std::vector<AxisRun> axis_runs(int64_t out, int64_t in, int64_t window, int64_t stride,
                               int64_t dilation, int64_t pad) {
  std::vector<AxisRun> runs;
  for (int64_t o = 0; o < out; ++o) {
    const int64_t cell = o * stride - pad;  // tap 0's
    int64_t k_begin = cell >= 0 ? 0 : std::min(window, ceil_div(-cell, dilation));
    int64_t k_end = cell >= in ? 0 : std::min(window, ceil_div(in - cell, dilation));
    if (k_end <= k_begin) k_begin = k_end = 0;  // no tap in the image
    if (!runs.empty() && runs.back().k_begin == k_begin && runs.back().k_end == k_end) {
      runs.back().out_end = o + 1;
    } else {
      runs.push_back({o, o + 1, k_begin, k_end});
    }
  }
  return runs;
}

// The regions, their tap runs and the micro-tiles of one image (the same for every batch
// item), with each tile's estimated cost for splitting the work over threads.
struct TilePlan {
  std::vector<ConvTap> taps;
  std::vector<ConvRegion> regions;
  std::vector<ConvTile> tiles;
  std::vector<int64_t> tile_cost;
  int64_t max_run = 0;
  // A banded plan's band b holds tiles [band_tiles[b], band_tiles[b + 1]).
  std::vector<int64_t> band_tiles;
};

// Cost of a tile of n pixels: multiply-adds of the kernel's rows (a short tile runs a kernel
// with the next quarter of MR), plus loading and storing the accumulators.
int64_t tile_cost(int64_t n, int tile_pixels, int64_t region_len) {
  const int64_t quarter = std::max(1, tile_pixels / 4);
  return ceil_div(n, quarter) * quarter * (region_len + 16);
}

// Tiles for pixels [first, end) of region r, in row-major order. A run whose last tile would
// hold one pixel ends with two tiles of about MR/2 instead: a one-pixel tile runs the MR/4-row
// kernel, bound by FMA latency rather than throughput (AVX2: 6 + 1 pixels take 6 + 4 cycles
// per channel, 4 + 3 take 4 + 4).
void add_tiles(TilePlan& plan, int64_t region, int64_t first, int64_t end, int tile_pixels,
               int64_t region_len) {
  const ConvRegion& r = plan.regions[region];
  const int64_t pixels = end - first;
  const int64_t halves_from =
      pixels > tile_pixels && pixels % tile_pixels == 1 ? end - tile_pixels - 1 : end;
  // Full tiles step (dy, dx) by tile_pixels in (rows, cols): no division per full tile (the
  // plan-less conv2d_nhwc plans on every call).
  const int64_t step_y = tile_pixels / r.width, step_x = tile_pixels % r.width;
  const int64_t full_cost = tile_cost(tile_pixels, tile_pixels, region_len);
  int64_t dy = first / r.width, dx = first % r.width;
  while (first < end) {
    int n = static_cast<int>(std::min<int64_t>(tile_pixels, end - first));
    if (first == halves_from) n = (tile_pixels + 2) / 2;
    plan.tiles.push_back({region, dy, dx, n});
    plan.tile_cost.push_back(n == tile_pixels ? full_cost : tile_cost(n, tile_pixels, region_len));
    first += n;
    dy += n == tile_pixels ? step_y : n / r.width;
    dx += n == tile_pixels ? step_x : n % r.width;
    if (dx >= r.width) {
      dx -= r.width;
      ++dy;
    }
  }
}

// `merge_rows`: a row of taps (kx, c) is contiguous in the input and the packed filter, so it
// is one run (fewer, longer inner loops: the 3-channel stem has 3 runs of 9 instead of 9 of 3).
// `bands` > 1 (a 1x1 layer: one region) cuts the pixels into that many runs [b n / bands,
// (b + 1) n / bands), each tiled on its own, so that no tile crosses from one to the next.
TilePlan plan_tiles(const ConvShape& s, int64_t row_pixels, int64_t pixel_floats,
                    int64_t panel_width, int tile_pixels, bool merge_rows, int64_t bands) {
  TilePlan plan;
  const auto rows = axis_runs(s.out_h, s.in_h, s.k_h, s.stride_h, s.dilation_h, s.pad_top);
  const auto cols = axis_runs(s.out_w, s.in_w, s.k_w, s.stride_w, s.dilation_w, s.pad_left);
  for (const AxisRun& ry : rows) {
    for (const AxisRun& rx : cols) {
      ConvRegion r;
      r.y0 = ry.out_begin;
      r.x0 = rx.out_begin;
      r.height = ry.out_end - ry.out_begin;
      r.width = rx.out_end - rx.out_begin;
      r.tap_begin = static_cast<int64_t>(plan.taps.size());
      int64_t region_len = 0;  // multiply-adds per pixel and output channel
      if (ry.k_end > ry.k_begin && rx.k_end > rx.k_begin) {
        r.in_y0 = r.y0 * s.stride_h - s.pad_top + ry.k_begin * s.dilation_h;
        r.in_x0 = r.x0 * s.stride_w - s.pad_left + rx.k_begin * s.dilation_w;
        for (int64_t ky = ry.k_begin; ky < ry.k_end; ++ky) {
          const int64_t dy = (ky - ry.k_begin) * s.dilation_h * row_pixels;
          for (int64_t kx = rx.k_begin; kx < rx.k_end; ++kx) {
            const int64_t len = merge_rows ? (rx.k_end - rx.k_begin) * s.in_c : s.in_c;
            plan.taps.push_back({(dy + (kx - rx.k_begin) * s.dilation_w) * pixel_floats,
                                 (ky * s.k_w + kx) * s.in_c * panel_width, len});
            plan.max_run = std::max(plan.max_run, len);
            region_len += len;
            if (merge_rows) break;
          }
        }
      }
      r.tap_end = static_cast<int64_t>(plan.taps.size());
      const int64_t region = static_cast<int64_t>(plan.regions.size());
      plan.regions.push_back(r);
      const int64_t pixels = r.width * r.height;
      for (int64_t band = 0; band < bands; ++band) {
        if (bands > 1) plan.band_tiles.push_back(static_cast<int64_t>(plan.tiles.size()));
        add_tiles(plan, region, band * pixels / bands, (band + 1) * pixels / bands, tile_pixels,
                  region_len);
      }
    }
  }
  if (bands > 1) plan.band_tiles.push_back(static_cast<int64_t>(plan.tiles.size()));
  return plan;
}

// A kernel call: tiles [tile_begin, tile_end) x panels [panel_begin, panel_end).
struct TileCall {
  int64_t tile_begin, tile_end, panel_begin, panel_end;
};

constexpr int64_t kMinBlockTiles = 8;

// Tiles per block (see plan_work): as many as keep the block's input within a quarter of a
// 1 MiB L2 (half of a 512 KiB one), at least 8, spread evenly over the blocks (9 tiles make one
// block of 9, not 8 + 1). The input a tile reads is counted as tile_pixels * k_h * k_w * in_c
// floats, which overstates windows that overlap, so 3x3 layers keep blocks of about 8; 1x1
// layers on small images get one block, and read their weights once per call instead of once
// per 8 tiles (MobileNet v1's 7x7x1024 layer: 4 MiB of weights, 49 pixels). So does any layer
// whose whole image fits: Inception v3's 8x8x448 -> 384 3x3 layers (115 KB of input, 6.2 MB of
// weights, 13 tiles) had made two blocks, each streaming every panel's weights from memory,
// on two threads one block each; as one block the threads split the panels. Measured in the
// graph, builds alternated: on two threads 0.86 -> 0.70 and 0.83 -> 0.68 ms (oneDNN 0.66-0.71;
// two sets of 6 rounds), on one thread 4-7% faster in two sets and 3% slower in a third.
// So does a layer whose weights outweigh its input and twice a 1 MiB L2: blocks would stream
// all of them from memory once per block, one block streams each panel group's once and
// reads the smaller input again for each group instead. Inception v3's mixed_3/conv (35x35x288
// -> 17x17x384, 3x3 stride 2: 4 MB of weights, 1.4 MB of input) had made five blocks; as one,
// in the graph (6 alternated rounds each), 1.555 -> 1.471 ms on two threads, faster against
// the other layers in every round, and 2.764 -> 2.691 on one, level against them.
int64_t tiles_per_block(const ConvShape& s, int tile_pixels, int64_t tiles) {
  constexpr int64_t kBlockInputBytes = 256 * 1024, kOneBlockWeightBytes = 2 * 1024 * 1024;
  const int64_t input_bytes = s.in_h * s.in_w * s.in_c * int64_t{sizeof(float)};
  const int64_t weight_bytes = s.k_h * s.k_w * s.in_c * s.out_c * int64_t{sizeof(float)};
  if (input_bytes <= kBlockInputBytes ||
      (weight_bytes >= kOneBlockWeightBytes && weight_bytes > input_bytes))
    return std::max<int64_t>(1, tiles);
  const int64_t tile_bytes =
      std::max<int64_t>(1, tile_pixels * s.k_h * s.k_w * s.in_c * int64_t{sizeof(float)});
  const int64_t most = std::max(kMinBlockTiles, kBlockInputBytes / tile_bytes);
  const int64_t blocks = std::max<int64_t>(1, ceil_div(tiles, most));
  return std::max<int64_t>(1, ceil_div(tiles, blocks));
}

// Splits the work, tiles x panels, into `shares` lists of calls of about equal cost (one or a
// few per thread; at batch 1 a 17x17 or 8x8 layer has only a few dozen tiles x panels, and
// splitting them by count left a thread idle for up to a third of the time). Tiles are taken
// in blocks of `block_tiles`: each panel passes over a block before the next block starts, so
// the block's input stays in L2 while the panels' weights stream past, and a panel's weights
// stay in cache while the block's tiles do. A layer of one block splits its panels between
// the threads, so each reads its part of the weights once.
std::vector<std::vector<TileCall>> plan_work(std::span<const int64_t> tile_cost, int64_t panels,
                                             int64_t shares, int64_t block_tiles) {
  const int64_t tiles = static_cast<int64_t>(tile_cost.size());
  std::vector<std::vector<TileCall>> plan(shares);
  if (shares == 1) {  // what the general case below gives for one share, without its cost
    for (int64_t b = 0; b < tiles; b += block_tiles)
      plan[0].push_back({b, std::min(tiles, b + block_tiles), 0, panels});
    return plan;
  }
  double total = 0;
  for (int64_t c : tile_cost) total += static_cast<double>(c);
  total *= static_cast<double>(panels);
  const double shares_per_cost = static_cast<double>(shares) / total;
  double done = 0;
  for (int64_t b = 0; b < tiles; b += block_tiles) {
    for (int64_t p = 0; p < panels; ++p) {
      for (int64_t t = b; t < std::min(tiles, b + block_tiles); ++t) {
        const double cost = static_cast<double>(tile_cost[t]);
        // The share holding this unit's midpoint.
        const int64_t share =
            std::min(shares - 1, static_cast<int64_t>((done + cost / 2) * shares_per_cost));
        done += cost;
        std::vector<TileCall>& calls = plan[share];
        if (!calls.empty() && calls.back().panel_begin == p && calls.back().tile_end == t) {
          ++calls.back().tile_end;
        } else {
          calls.push_back({t, t + 1, p, p + 1});
        }
      }
    }
  }
  // A share holding a whole block for consecutive panels makes one call for them all.
  for (std::vector<TileCall>& calls : plan) {
    std::vector<TileCall> merged;
    for (const TileCall& c : calls) {
      TileCall* last = merged.empty() ? nullptr : &merged.back();
      if (last && last->tile_begin == c.tile_begin && last->tile_end == c.tile_end &&
          last->panel_end == c.panel_begin) {
        last->panel_end = c.panel_end;
      } else {
        merged.push_back(c);
      }
    }
    calls = std::move(merged);
  }
  return plan;
}

// Input channels per reduction pass: all of them while one panel's weights fit comfortably in
// L2 (1 MiB here; every Inception v3 and MobileNet layer does: slicing them measured no
// faster), else slices whose weights take about a quarter of that.
int64_t channel_block(const PackedConvFilter& f) {
  constexpr int64_t kMaxPanelFloats = 256 * 1024, kSliceFloats = 64 * 1024;
  if (f.panel_floats() <= kMaxPanelFloats) return f.in_c;
  const int64_t per_channel = f.k_h * f.k_w * f.panel_width;
  const int64_t slices = (f.in_c * per_channel + kSliceFloats - 1) / kSliceFloats;
  return (f.in_c + slices - 1) / slices;
}

}  // namespace

void check_filter_to_pack(std::string_view packer, Isa isa, int64_t k_h, int64_t k_w, int64_t in_c,
                          int64_t out_c, std::span<const float> filter) {
  if (!isa_available(isa)) fail(packer, ": ISA '", isa_name(isa), "' is not available");
  if (static_cast<int64_t>(filter.size()) != k_h * k_w * in_c * out_c)
    fail(packer, ": filter has ", filter.size(), " values, expected ", k_h * k_w * in_c * out_c);
}

PackedConvFilter pack_conv_filter(Isa isa, int64_t k_h, int64_t k_w, int64_t in_c, int64_t out_c,
                                  std::span<const float> filter) {
  check_filter_to_pack("pack_conv_filter", isa, k_h, k_w, in_c, out_c, filter);
  PackedConvFilter f;
  f.isa = isa;
  f.k_h = k_h;
  f.k_w = k_w;
  f.in_c = in_c;
  f.out_c = out_c;
  f.panel_width = kernel_for(isa, out_c).panel_width;
  f.num_panels = (out_c + f.panel_width - 1) / f.panel_width;
  f.storage = allocate_aligned(f.num_panels * f.panel_floats() * sizeof(float));
  float* out = reinterpret_cast<float*>(f.storage.get());
  const int64_t rows = k_h * k_w * in_c;  // (ky, kx, c) in HWIO order
  for (int64_t p = 0; p < f.num_panels; ++p) {
    const int64_t o0 = p * f.panel_width;
    const int64_t width = std::min(f.panel_width, out_c - o0);
    for (int64_t r = 0; r < rows; ++r) {
      std::memcpy(out + (p * rows + r) * f.panel_width, &filter[r * out_c + o0],
                  width * sizeof(float));
    }
  }
  return f;
}

namespace {

void check_filter(const ConvShape& s, const PackedConvFilter& filter) {
  if (filter.k_h != s.k_h || filter.k_w != s.k_w || filter.in_c != s.in_c ||
      filter.out_c != s.out_c)
    fail("conv2d_nhwc: packed filter does not match the convolution's shape");
}

using WorkPlan = std::vector<std::vector<TileCall>>;

// A 1x1 convolution with stride 1 and no padding.
bool pointwise(const ConvShape& s) {
  return s.k_h == 1 && s.k_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_top == 0 &&
         s.pad_left == 0 && s.out_h == s.in_h && s.out_w == s.in_w;
}

// A 1x1 convolution with stride 1 and no padding computes each output pixel from its input
// pixel alone, so a batch is one image of all the batch's rows: the tiles and the threads'
// shares then run across the images, one GEMM over every pixel, and each panel of weights is
// read once per tile, not once per image. (MobileNet v1 1.0's grouped tail, 8 images of 7x7:
// the logits layer read its 4 MB of weights once per image.)
ConvShape batch_as_rows(const ConvShape& s) {
  if (!pointwise(s) || s.batch <= 1) return s;
  ConvShape rows = s;
  rows.in_h = rows.out_h = s.batch * s.in_h;
  rows.batch = 1;
  return rows;
}

// Bands of pixels for a layer whose image is split over `threads` threads (`split`). A 1x1
// layer with at least a block of tiles per thread is cut into one band of pixels per thread,
// as the depthwise layers cut their rows, so that each thread reads back the pixels it wrote
// in the layer before and writes those the next layer gives it. Split by cost instead, a
// thread's share could end partway through a block's panels: on MobileNet v1's 14x14x512
// layers the second thread computed the last panel of 8 of the first thread's tiles, reading
// their input from the other core. A smaller layer is split by cost over (tile, panel):
// MobileNet's 7x7 layers then split their panels, each thread reading half the weights.
int64_t pixel_bands(const ConvShape& s, bool split, int threads, int tile_pixels) {
  const bool banded =
      split && pointwise(s) && s.out_h * s.out_w >= threads * kMinBlockTiles * tile_pixels;
  return banded ? threads : 1;
}

// The plan's tiles (band by band when banded) cut into `shares` lists of calls.
WorkPlan split_work(const ConvShape& s, const TilePlan& tiles, const PackedConvFilter& filter,
                    int tile_pixels, bool sliced, int64_t shares) {
  // Up to 256 KiB of weights (two groups; the line stayed where it was when one group held
  // 256 KiB), split by tiles alone, every call keeping all the panels. Split by (tile, panel),
  // a thread's share could end partway through a block's panels, and both threads then ran
  // the same tiles for different panels, each reading their input and writing part of each
  // output pixel's cache lines (MobileNet v1's 112x112x32 -> 64 layer on 2 threads: 0.60 ->
  // 0.50 ms, level with oneDNN).
  constexpr int64_t kTileSplitWeightBytes = 256 * 1024;
  const int64_t filter_bytes = filter.num_panels * filter.panel_floats() * int64_t{sizeof(float)};
  const bool all_panels = !sliced && filter_bytes <= kTileSplitWeightBytes;
  WorkPlan work;
  // Tiles [begin, end) cut into `n` shares.
  auto split = [&](int64_t begin, int64_t end, int64_t n) {
    const std::span<const int64_t> cost(tiles.tile_cost.data() + begin, end - begin);
    const int64_t block_tiles = tiles_per_block(s, tile_pixels, end - begin);
    for (std::vector<TileCall>& calls :
         plan_work(cost, all_panels ? 1 : filter.num_panels, n, block_tiles)) {
      for (TileCall& c : calls) {
        c.tile_begin += begin;
        c.tile_end += begin;
        if (all_panels) c.panel_end = filter.num_panels;
      }
      work.push_back(std::move(calls));
    }
  };
  const std::vector<int64_t>& band_first = tiles.band_tiles;
  if (band_first.empty()) {
    split(0, static_cast<int64_t>(tiles.tiles.size()), shares);
  } else {
    const int64_t bands = static_cast<int64_t>(band_first.size()) - 1;
    for (int64_t b = 0; b < bands; ++b) split(band_first[b], band_first[b + 1], shares / bands);
  }
  return work;
}

}  // namespace

struct Conv2dNhwcPlan::Data {
  ConvShape shape;  // the planned shape, batch_as_rows
  ConvKernelInfo kernel;
  TilePlan tiles;
  int64_t pitch = 0, c_block = 0;
  // Below ~100K multiply-adds per image (~1 us on one core) splitting an image's tiles over
  // threads does not pay for handing them over, even with the pool's workers spinning for the
  // next job (engine/thread_pool.h). Measured on MobileNet v1 0.25_128 at batch 1 on 2 threads,
  // whose layers are 0.1-1.6M: 2100 images/s with a 2M threshold, 2700-2800 with 50K-500K.
  // Such layers run whole images per thread instead (each thread with its own respaced-input
  // scratch), or at batch 1 on the calling thread alone.
  bool small = false;
  // The shares of one image's work: one per chunk of the pool's contiguous schedule (thread i
  // computes the same part of the output in every layer, and a slowed thread's last shares
  // move), shares_per_thread per thread, or one when the image runs on a single thread.
  WorkPlan work;
  int64_t shares_per_thread = ThreadPool::kChunksPerThread;
};

int64_t conv_shares_per_thread(int64_t macs) {
  return macs >= kFineShareMacs ? 2 * ThreadPool::kChunksPerThread : ThreadPool::kChunksPerThread;
}

bool space_conv_input(int64_t in_c, int tile_rows, int l1d_ways) {
  constexpr int kUnknownWays = 8;
  const int ways = l1d_ways > 0 ? l1d_ways : kUnknownWays;
  return pixels_4kib_apart(in_c) && tile_rows + 1 > ways;
}

Conv2dNhwcPlan::Conv2dNhwcPlan(const ConvShape& shape, const PackedConvFilter& filter, int threads,
                               InputSpacing spacing)
    : key_{shape, filter.isa, std::max(threads, 1)} {
  check_filter(shape, filter);
  auto data = std::make_unique<Data>();
  data->shape = batch_as_rows(shape);
  const ConvShape& s = data->shape;
  data->kernel = kernel_for(filter.isa, filter.out_c);
  // Input channels per reduction pass; rows of taps merge into one run only when unsliced.
  const int64_t c_block = channel_block(filter);
  const bool sliced = c_block < s.in_c;
  data->pitch = InputLayout::pitch(s, data->kernel.tile_pixels, spacing);
  constexpr int64_t kMinParallelMacs = 100'000;
  const int64_t image_macs = s.image_multiply_adds();
  data->small = image_macs < kMinParallelMacs;
  const bool split_image = key_.threads > 1 && !data->small;
  const int64_t tile_pixels = data->kernel.tile_pixels;
  const int64_t bands = pixel_bands(s, split_image && !sliced, key_.threads, tile_pixels);
  data->tiles = plan_tiles(s, s.in_w, data->pitch, filter.panel_width, tile_pixels,
                           !sliced && s.dilation_w == 1 && data->pitch == s.in_c, bands);
  data->c_block = sliced ? c_block : std::max<int64_t>(1, data->tiles.max_run);
  data->shares_per_thread = conv_shares_per_thread(image_macs);
  const int64_t shares = split_image ? key_.threads * data->shares_per_thread : 1;
  data->work = split_work(s, data->tiles, filter, tile_pixels, sliced, shares);
  data_ = std::move(data);
}

std::pair<int64_t, int64_t> Conv2dNhwcPlan::thread_pixels(int thread) const {
  const Data& d = *data_;
  const int64_t shares = static_cast<int64_t>(d.work.size());
  const auto [begin, end] = owned_items(key_.threads, shares, 1, thread, d.shares_per_thread);
  int64_t first = std::numeric_limits<int64_t>::max(), last = 0;
  for (int64_t share = begin; share < end; ++share) {
    for (const TileCall& c : d.work[share]) {
      for (int64_t t = c.tile_begin; t < c.tile_end; ++t) {
        const ConvTile& tile = d.tiles.tiles[t];
        const ConvRegion& r = d.tiles.regions[tile.region];
        const int64_t pixel = (r.y0 + tile.dy) * d.shape.out_w + r.x0 + tile.dx;
        first = std::min(first, pixel);
        last = std::max(last, pixel + tile.rows);
      }
    }
  }
  return first < last ? std::pair{first, last} : std::pair<int64_t, int64_t>{0, 0};
}

Conv2dNhwcPlan::~Conv2dNhwcPlan() = default;
Conv2dNhwcPlan::Conv2dNhwcPlan(Conv2dNhwcPlan&&) noexcept = default;
Conv2dNhwcPlan& Conv2dNhwcPlan::operator=(Conv2dNhwcPlan&&) noexcept = default;

void conv2d_nhwc(const ConvShape& s, std::span<const float> input, const PackedConvFilter& filter,
                 std::span<const float> bias, Activation act, std::span<float> output,
                 ThreadPool* pool) {
  conv2d_nhwc(Conv2dNhwcPlan(s, filter, pool_threads(pool)), input, filter, bias, act, output,
              pool);
}

void conv2d_nhwc(const Conv2dNhwcPlan& plan, std::span<const float> input,
                 const PackedConvFilter& filter, std::span<const float> bias, Activation act,
                 std::span<float> output, ThreadPool* pool) {
  check_filter(plan.shape().shape, filter);
  if (filter.isa != plan.shape().isa || pool_threads(pool) != plan.shape().threads)
    fail("conv2d_nhwc: the plan was made for another kernel or thread count");
  const Conv2dNhwcPlan::Data& d = *plan.data_;
  const ConvShape& s = d.shape;
  if (static_cast<int64_t>(input.size()) != s.input_size() ||
      static_cast<int64_t>(output.size()) != s.output_size() ||
      (!bias.empty() && static_cast<int64_t>(bias.size()) != s.out_c))
    fail("conv2d_nhwc: input, output or bias size does not match the convolution's shape");
  const int64_t pixels = s.out_h * s.out_w;
  if (pixels == 0 || s.out_c == 0 || s.batch == 0) return;

  // The kernels read whole panels of bias: zeros past out_c. Kept per calling thread and only
  // grown, so a graph's layers do not allocate one each.
  thread_local std::vector<float> padded_bias;
  padded_bias.assign(filter.num_panels * filter.panel_width, 0.f);
  std::copy(bias.begin(), bias.end(), padded_bias.begin());

  ConvTileJob job;
  job.row_pixels = s.in_w;
  job.pixel_floats = d.pitch;
  job.max_run = d.tiles.max_run;
  job.c_block = d.c_block;
  job.out_w = s.out_w;
  job.out_c = s.out_c;
  job.out_stride = s.out_pixel_stride();
  job.stride_h = s.stride_h;
  job.stride_w = s.stride_w;
  job.taps = d.tiles.taps;
  job.regions = d.tiles.regions;
  job.tiles = d.tiles.tiles;
  job.filter = &filter;
  job.bias = padded_bias.data();
  job.act = act;
  job.prefetch_output = prefetches_output(pixels * s.out_c * int64_t{sizeof(float)});

  // One batch item on `layout`'s scratch, its work split into d.work's shares over
  // `image_pool`.
  auto run_image = [&](InputLayout& layout, int64_t n, ThreadPool* image_pool) {
    ConvTileJob image_job = job;
    image_job.input = layout.image(input.data() + n * s.in_h * s.in_w * s.in_c, image_pool);
    image_job.output = output.data() + n * pixels * job.out_stride;
    const int64_t shares = static_cast<int64_t>(d.work.size());
    parallel_for(
        image_pool, shares, 1,
        [&](int64_t begin, int64_t end) {
          for (int64_t share = begin; share < end; ++share)
            for (const TileCall& c : d.work[share])
              d.kernel.run(image_job, c.tile_begin, c.tile_end, c.panel_begin, c.panel_end);
        },
        ThreadPool::Schedule::kContiguous, d.shares_per_thread);
  };

  if (d.small && s.batch > 1 && pool && pool->size() > 1) {
    pool->parallel_for(
        s.batch, 1,
        [&](int64_t begin, int64_t end) {
          InputLayout layout(s, d.pitch);
          for (int64_t n = begin; n < end; ++n) run_image(layout, n, nullptr);
        },
        ThreadPool::Schedule::kDynamic);
    return;
  }
  InputLayout layout(s, d.pitch);
  for (int64_t n = 0; n < s.batch; ++n) run_image(layout, n, d.small ? nullptr : pool);
}

}  // namespace poet::kernels::x86
