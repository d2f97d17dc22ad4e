// The ISA-independent half of the Winograd convolutions: the filter transform, cutting the
// output into tiles and blocks of tiles, the matrix products, and the split over threads. The
// transforms are in conv2d_winograd_tile.h, the products run on the direct convolution's
// micro-kernel (conv2d_nhwc_blocked.h) through its public interface.
//
// Blocking scheme. The output of every image is cut into m_h x m_w tiles (4x4 for 3x3 filters,
// 2x2 for 5x5, 1x4 for 1x7 and 1x3, 4x1 for 7x1 and 3x1; the last row and column of tiles may
// stick out of the image, those pixels are not stored), numbered in memory order across the
// batch. A block of up to `block_tiles` consecutive tiles goes through three steps while its
// data stays in the core's L2:
//   1. input transform: each tile's n_h x n_w input window (6x6 for 3x3, 1x10 for 1x7...; read
//      in place, or, when it reaches past the image, first copied with zeros for the missing
//      cells) becomes n_h * n_w vectors (the points) of in_c values, stored as
//      V[point][tile][c];
//   2. one matrix product per point, M[point] = V[point] (tiles x in_c) * U[point]
//      (in_c x out_c), each a 1x1 convolution of the block's tiles on the micro-kernel: per
//      panel of output channels its weights stay in L1 while the block's tiles stream past;
//   3. output transform: the points' products of each tile and output channel become its
//      m_h x m_w pixels, plus bias, activation.
// Steps 2 and 3 run for a group of panels at a time, so that M[point][tiles][group] stays
// small next to V, which every group reuses.
#include "kernels/x86/conv2d_winograd.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "engine/error.h"
#include "engine/thread_pool.h"
#include "kernels/x86/prefetch_for_writing.h"

namespace poet::kernels::x86 {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

ConvKernelInfo product_kernel(Isa isa, int64_t out_c) {
  if (isa == Isa::kAvx512) return conv2d_nhwc_avx512_kernel(out_c);
  if (isa == Isa::kAvx2) return conv2d_nhwc_avx2_kernel();
  fail_no_simd_kernel("conv2d_winograd", isa);
}

WinogradTransforms transforms_for(Isa isa, int64_t k_h, int64_t k_w) {
  if (isa == Isa::kAvx512) return winograd_transforms_avx512(k_h, k_w);
  if (isa == Isa::kAvx2) return winograd_transforms_avx2(k_h, k_w);
  fail_no_simd_kernel("conv2d_winograd", isa);
}

// A tile's sizes: points (input window) and outputs along each axis.
struct TileSize {
  int64_t points_h = 0, points_w = 0, out_h = 0, out_w = 0;
  int64_t points() const { return points_h * points_w; }
};

TileSize tile_size(int64_t k_h, int64_t k_w) {
  TileSize t;
  winograd::visit_tile(k_h, k_w, [&]<class T>(T) {
    t = {T::kPointsH, T::kPointsW, T::AlongH::kOut, T::AlongW::kOut};
  });
  return t;
}

// The filter transform U = G_h g G_w^T of tile T for every (c, o), in double; point (i, j) of
// U becomes a 1x1 filter [c][o], u[i * points_w + j].
template <class T>
std::vector<std::vector<float>> transform_filter(int64_t in_c, int64_t out_c,
                                                 std::span<const float> filter) {
  using H = typename T::AlongH;
  using W = typename T::AlongW;
  constexpr int r_h = H::kWindow, r_w = W::kWindow;
  std::vector<std::vector<float>> u(T::kPoints, std::vector<float>(in_c * out_c));
  for (int64_t co = 0; co < in_c * out_c; ++co) {
    double gt[r_h][W::kPoints];  // g G_w^T
    for (int a = 0; a < r_h; ++a) {
      for (int j = 0; j < W::kPoints; ++j) {
        double sum = 0;
        for (int b = 0; b < r_w; ++b)
          sum += filter[(a * r_w + b) * in_c * out_c + co] * W::kG[j][b];
        gt[a][j] = sum;
      }
    }
    for (int i = 0; i < H::kPoints; ++i) {
      for (int j = 0; j < W::kPoints; ++j) {
        double sum = 0;
        for (int a = 0; a < r_h; ++a) sum += H::kG[i][a] * gt[a][j];
        u[i * W::kPoints + j][co] = static_cast<float>(sum);
      }
    }
  }
  return u;
}

// Scratch of the calling thread (the blocks' V and M, a window copied with zeros), 64-byte
// aligned, grown and never shrunk: once warm, no layer or run allocates.
float* thread_scratch(int64_t floats) {
  struct alignas(64) Line {
    float f[16];
  };
  thread_local std::vector<Line> lines;
  const size_t needed = static_cast<size_t>(ceil_div(floats, 16));
  if (lines.size() < needed) lines.resize(needed);
  return lines.data()->f;
}

// Tiles per block. Each block multiplies its tiles with all of U (points x in_c x out_c
// floats). When U fits in L2 (512 KiB here) next to the block, blocks are kept small
// (V[points][tiles][in_c] up to 64 KiB) so that U stays there from block to block; when it does
// not (Inception's layers from 64 -> 96 channels on, the 5x5 48 -> 64, the 1x7 and 7x1), blocks
// are larger (V up to 128 KiB) so that each pass of U from L3 serves more tiles. Either way a
// multiple of the micro-kernel's rows (a short block runs short micro-tiles). Products are made for
// a group of panels at a time, M[points][tiles][group] up to 256 KiB. (Measured on Inception's
// layers, one thread, interleaved runs on the shared machine: the small blocks 5-30% faster than
// 256 KiB ones on 32 -> 32 and 32 -> 64; for the others, 128 KiB blocks with 256 KiB groups 5-10%
// faster than 256 KiB blocks with 128 KiB groups on 48 -> 64 5x5 and 64 -> 96, the same on
// 96 -> 96 and 80 -> 192; 1x7 and 7x1 on 128-192 channels: blocks of 24 and 42 tiles within 4%
// of the 12-24 this gives, the whole 17x17 image in one block slower.)
constexpr int64_t kSmallU = 64 * 1024, kSmallBlock = 16 * 1024, kLargeBlock = 32 * 1024;
constexpr int64_t kGroupFloats = 64 * 1024;
constexpr int64_t kMaxBlockTiles = 96;

struct Plan {
  TileSize tile;
  int64_t tiles_h = 0, tiles_w = 0, tiles = 0;  // per image, and over the batch
  int64_t v_pitch = 0;       // floats from one tile's transformed channels to the next
  int64_t block_tiles = 0;   // tiles per block
  int64_t group_panels = 0;  // panels per group
  int64_t tile_shares = 1, panel_shares = 1;
};

Plan make_plan(const ConvShape& s, const WinogradFilter& f, const ConvKernelInfo& kernel,
               int64_t shares) {
  Plan p;
  p.tile = tile_size(f.k_h, f.k_w);
  p.tiles_h = ceil_div(s.out_h, p.tile.out_h);
  p.tiles_w = ceil_div(s.out_w, p.tile.out_w);
  p.tiles = s.batch * p.tiles_h * p.tiles_w;
  // Whole vectors of every ISA; not a multiple of 4 KiB, or the micro-kernel's rows would
  // share L1 cache sets (as conv2d_nhwc.cc respaces such inputs).
  p.v_pitch = (s.in_c + 15) / 16 * 16;
  if (p.v_pitch % 1024 == 0) p.v_pitch += 16;
  const int64_t rows = kernel.tile_pixels;
  const int64_t points = p.tile.points();
  const int64_t block_floats = points * s.in_c * s.out_c <= kSmallU ? kSmallBlock : kLargeBlock;
  p.block_tiles = std::clamp(block_floats / (points * p.v_pitch) / rows * rows, rows,
                             kMaxBlockTiles / rows * rows);
  const int64_t panels = f.points[0].num_panels;
  p.group_panels =
      std::clamp<int64_t>(kGroupFloats / (points * p.block_tiles * kernel.panel_width), 1, panels);
  // Threads split the tiles in runs of whole micro-tiles; a layer with fewer micro-tiles than
  // shares (an 8x8 image has 4 tiles of 4x4) splits the panels too.
  p.tile_shares = std::min(shares, ceil_div(p.tiles, rows));
  p.panel_shares = std::min(panels, ceil_div(shares, p.tile_shares));
  return p;
}

// One share's work: tiles [tile_begin, tile_end) x panels [panel_begin, panel_end).
struct Unit {
  int64_t tile_begin, tile_end, panel_begin, panel_end;
};

class Runner {
 public:
  Runner(const ConvShape& s, const float* input, const WinogradFilter& f, const float* bias,
         Activation act, float* output, const Plan& plan, const ConvKernelInfo& kernel,
         const WinogradTransforms& transforms)
      : s_(s),
        input_(input),
        f_(f),
        bias_(bias),
        act_(act),
        output_(output),
        plan_(plan),
        kernel_(kernel),
        transforms_(transforms) {}

  void run(const Unit& u) const {
    const int64_t points = plan_.tile.points();
    const int64_t v_point = plan_.block_tiles * plan_.v_pitch;
    const int64_t m_point = plan_.block_tiles * s_.out_c;
    float* v = thread_scratch(points * (v_point + m_point + s_.in_c));
    float* m = v + points * v_point;
    float* window = m + points * m_point;
    for (int64_t t0 = u.tile_begin; t0 < u.tile_end; t0 += plan_.block_tiles) {
      const int64_t tiles = std::min(plan_.block_tiles, u.tile_end - t0);
      for (int64_t k = 0; k < tiles; ++k) transform_input(t0 + k, window, v + k * plan_.v_pitch);
      for (int64_t g = u.panel_begin; g < u.panel_end; g += plan_.group_panels) {
        const int64_t g_end = std::min(u.panel_end, g + plan_.group_panels);
        multiply(tiles, v, v_point, m, m_point, g, g_end);
        const int64_t c0 = g * kernel_.panel_width;
        const int64_t c1 = std::min(s_.out_c, g_end * kernel_.panel_width);
        for (int64_t k = 0; k < tiles; ++k) {
          if (prefetch_output_ && t0 + k + kOutputAheadTiles < u.tile_end)
            prefetch_output(t0 + k + kOutputAheadTiles, c0, c1 - c0);
          transform_output(t0 + k, m + k * s_.out_c + c0, m_point, c0, c1 - c0);
        }
      }
    }
  }

 private:
  struct TilePos {
    int64_t n, y, x;  // batch item, and the tile's first output pixel
  };
  TilePos position(int64_t t) const {
    const int64_t per_image = plan_.tiles_h * plan_.tiles_w;
    const int64_t n = t / per_image, r = t - n * per_image;
    return {n, r / plan_.tiles_w * plan_.tile.out_h, r % plan_.tiles_w * plan_.tile.out_w};
  }

  // Tile t's input window, read in place when it lies inside the image, else copied into
  // `window` with zeros for the cells outside.
  void transform_input(int64_t t, float* window, float* v) const {
    const TilePos p = position(t);
    const int64_t y0 = p.y - s_.pad_top, x0 = p.x - s_.pad_left;
    const int64_t c = s_.in_c, row = s_.in_w * c;
    const float* image = input_ + p.n * s_.in_h * row;
    const int64_t v_point = plan_.block_tiles * plan_.v_pitch;
    const int64_t n_h = plan_.tile.points_h, n_w = plan_.tile.points_w;
    if (y0 >= 0 && x0 >= 0 && y0 + n_h <= s_.in_h && x0 + n_w <= s_.in_w) {
      transforms_.input(image + y0 * row + x0 * c, row, c, c, v, v_point);
      return;
    }
    for (int64_t i = 0; i < n_h; ++i) {
      for (int64_t j = 0; j < n_w; ++j) {
        float* cell = window + (i * n_w + j) * c;
        const int64_t y = y0 + i, x = x0 + j;
        if (y >= 0 && y < s_.in_h && x >= 0 && x < s_.in_w) {
          std::memcpy(cell, image + y * row + x * c, c * sizeof(float));
        } else {
          std::memset(cell, 0, c * sizeof(float));
        }
      }
    }
    transforms_.input(window, n_w * c, c, c, v, v_point);
  }

  // M[point] = V[point] * U[point] for panels [panel_begin, panel_end), each point a 1x1
  // convolution of the block's tiles as one row of pixels.
  void multiply(int64_t tiles, const float* v, int64_t v_point, float* m, int64_t m_point,
                int64_t panel_begin, int64_t panel_end) const {
    const ConvTap tap{0, 0, s_.in_c};
    const ConvRegion region{0, 0, tiles, 1, 0, 0, 0, 1};
    std::array<ConvTile, kMaxBlockTiles> micro;
    const int rows = kernel_.tile_pixels;
    int64_t n_micro = 0;
    for (int64_t k = 0; k < tiles; k += rows)
      micro[n_micro++] = {0, 0, k, static_cast<int>(std::min<int64_t>(rows, tiles - k))};
    ConvTileJob job;
    job.row_pixels = tiles;
    job.pixel_floats = plan_.v_pitch;
    job.c_block = job.max_run = s_.in_c;
    job.out_w = tiles;
    job.out_c = job.out_stride = s_.out_c;
    job.taps = std::span(&tap, 1);
    job.regions = std::span(&region, 1);
    job.tiles = std::span(micro.data(), n_micro);
    job.bias = f_.zeros.data();
    for (int64_t point = 0; point < plan_.tile.points(); ++point) {
      job.input = v + point * v_point;
      job.filter = &f_.points[point];
      job.output = m + point * m_point;
      kernel_.run(job, 0, n_micro, panel_begin, panel_end);
    }
  }

  // Where tile t's output pixels inside the image lie: rows x cols pixels from `first`.
  struct TileOutput {
    float* first;
    int rows, cols;
    int64_t row_stride, pixel_stride;  // floats
  };
  TileOutput tile_output(int64_t t) const {
    const TilePos p = position(t);
    const int64_t stride = s_.out_pixel_stride();
    return {output_ + ((p.n * s_.out_h + p.y) * s_.out_w + p.x) * stride,
            static_cast<int>(std::min(plan_.tile.out_h, s_.out_h - p.y)),
            static_cast<int>(std::min(plan_.tile.out_w, s_.out_w - p.x)), s_.out_w * stride,
            stride};
  }

  // Channels [c0, c0 + channels) of tile t's output pixels inside the image.
  void transform_output(int64_t t, const float* m, int64_t m_point, int64_t c0,
                        int64_t channels) const {
    const TileOutput o = tile_output(t);
    transforms_.output(m, m_point, channels, bias_ + c0, act_, o.first + c0, o.row_stride,
                       o.pixel_stride, o.rows, o.cols);
  }

  // Fetches, for writing, the lines where transform_output will store tile t's channels
  // [c0, c0 + channels): the output transform stores a whole tile's pixels at once, and in a
  // graph their lines were last touched a run earlier (prefetch_for_writing.h). Measured in
  // Inception v3 (Zen 5, 12 rounds alternated with the code before): the 147x147 3x3 layers
  // 1.12 -> 1.02 and 1.79 -> 1.78 ms on one thread, 0.79 -> 0.71 and 1.30 -> 1.22 on two, the
  // 71x71 one 2.21 -> 2.31 and 1.67 -> 1.62; the stem to the second max pool 6.05 -> 5.99 ms
  // on one thread (the max pools after them read 0.01-0.02 ms slower) and 4.74 -> 4.44 on two.
  static constexpr int64_t kOutputAheadTiles = 2;

  void prefetch_output(int64_t t, int64_t c0, int64_t channels) const {
    const TileOutput o = tile_output(t);
    std::uintptr_t fetched = 0;
    for (int i = 0; i < o.rows; ++i) {
      for (int j = 0; j < o.cols; ++j) {
        const auto pixel =
            reinterpret_cast<std::uintptr_t>(o.first + i * o.row_stride + j * o.pixel_stride + c0);
        fetched = prefetch_for_writing(pixel, pixel + channels * sizeof(float), fetched);
      }
    }
  }

  const ConvShape& s_;
  const float* input_;
  const WinogradFilter& f_;
  const float* bias_;
  Activation act_;
  float* output_;
  const Plan& plan_;
  const ConvKernelInfo& kernel_;
  const WinogradTransforms& transforms_;
  const bool prefetch_output_ =
      prefetches_output(s_.out_h * s_.out_w * s_.out_c * int64_t{sizeof(float)});
};

}  // namespace

bool winograd_applies(const ConvShape& s) {
  return winograd::visit_tile(s.k_h, s.k_w, [](auto) {}) && s.stride_h == 1 && s.stride_w == 1 &&
         s.dilation_h == 1 && s.dilation_w == 1;
}

WinogradFilter pack_winograd_filter(Isa isa, int64_t k_h, int64_t k_w, int64_t in_c, int64_t out_c,
                                    std::span<const float> filter) {
  check_filter_to_pack("pack_winograd_filter", isa, k_h, k_w, in_c, out_c, filter);
  std::vector<std::vector<float>> u;
  if (!winograd::visit_tile(k_h, k_w,
                            [&]<class T>(T) { u = transform_filter<T>(in_c, out_c, filter); }))
    fail("pack_winograd_filter: ", k_h, "x", k_w, " filters have no Winograd variant");
  std::vector<PackedConvFilter> points;
  for (const std::vector<float>& point : u)
    points.push_back(pack_conv_filter(isa, 1, 1, in_c, out_c, point));
  std::vector<float> zeros(points[0].num_panels * points[0].panel_width, 0.f);
  return {isa, k_h, k_w, in_c, out_c, std::move(points), std::move(zeros)};
}

void conv2d_winograd(const ConvShape& s, std::span<const float> input, const WinogradFilter& filter,
                     std::span<const float> bias, Activation act, std::span<float> output,
                     ThreadPool* pool) {
  if (!winograd_applies(s))
    fail("conv2d_winograd: needs stride 1, no dilation and a 3x3, 5x5, 1x7, 7x1, 1x3 or 3x1 ",
         "window; got a ", s.k_h, "x", s.k_w, " window, stride ", s.stride_h, "x", s.stride_w,
         ", dilation ", s.dilation_h, "x", s.dilation_w);
  if (filter.k_h != s.k_h || filter.k_w != s.k_w || filter.in_c != s.in_c ||
      filter.out_c != s.out_c)
    fail("conv2d_winograd: the filter does not match the convolution's shape");
  if (static_cast<int64_t>(input.size()) != s.input_size() ||
      static_cast<int64_t>(output.size()) != s.output_size() ||
      (!bias.empty() && static_cast<int64_t>(bias.size()) != s.out_c))
    fail("conv2d_winograd: input, output or bias size does not match the shape");
  if (s.output_size() == 0) return;
  const ConvKernelInfo kernel = product_kernel(filter.isa, s.out_c);
  if (kernel.panel_width != filter.points[0].panel_width)
    fail("conv2d_winograd: the filter was packed for another micro-kernel");
  const WinogradTransforms transforms = transforms_for(filter.isa, filter.k_h, filter.k_w);
  const int64_t per_thread = conv_shares_per_thread(s.batch * s.image_multiply_adds());
  const int64_t shares = pool ? pool->size() * per_thread : 1;
  const Plan plan = make_plan(s, filter, kernel, shares);
  const Runner runner(s, input.data(), filter, bias.empty() ? filter.zeros.data() : bias.data(),
                      act, output.data(), plan, kernel, transforms);
  const int64_t rows = kernel.tile_pixels;
  const int64_t micro_tiles = ceil_div(plan.tiles, rows);
  const int64_t panels = filter.points[0].num_panels;
  parallel_for(
      pool, plan.tile_shares * plan.panel_shares, 1,
      [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          const int64_t ts = i / plan.panel_shares, ps = i % plan.panel_shares;
          runner.run({std::min(plan.tiles, ts * micro_tiles / plan.tile_shares * rows),
                      std::min(plan.tiles, (ts + 1) * micro_tiles / plan.tile_shares * rows),
                      ps * panels / plan.panel_shares, (ps + 1) * panels / plan.panel_shares});
        }
      },
      ThreadPool::Schedule::kContiguous, per_thread);
}

}  // namespace poet::kernels::x86
