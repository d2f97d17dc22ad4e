// The ISA-independent half of Winograd F(4x4, 3x3) and F(2x2, 5x5): the filter transform,
// cutting the output into tiles and blocks of tiles, the 36 matrix products, and the split over
// threads. The transforms are in conv2d_winograd_6x6_tile.h, the products run on the direct
// convolution's micro-kernel (conv2d_nhwc_blocked.h) through its public interface.
//
// Blocking scheme. The output of every image is cut into m x m tiles (m = 4 for 3x3 filters,
// 2 for 5x5; the last row and column of tiles may stick out of the image, those pixels are not
// stored), numbered in memory order across the batch. A block of up to `block_tiles` consecutive
// tiles goes through three steps while its data stays in the core's L2:
//   1. input transform: each tile's 6x6 input window (read in place; a window that reaches
//      past the image is first copied with zeros for the missing cells) becomes 36 vectors of
//      in_c values, stored as V[point][tile][c];
//   2. 36 matrix products M[point] = V[point] (tiles x in_c) * U[point] (in_c x out_c), each a
//      1x1 convolution of the block's tiles on the micro-kernel: per panel of output channels
//      its weights stay in L1 while the block's tiles stream past;
//   3. output transform: the 36 products of each tile and output channel become its m x m
//      pixels, plus bias, activation.
// Steps 2 and 3 run for a group of panels at a time, so that M[36][tiles][group] stays small
// next to V, which every group reuses.
#include "kernels/x86/conv2d_winograd_6x6.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "engine/error.h"
#include "engine/thread_pool.h"

namespace poet::kernels::x86 {
namespace {

namespace wg = winograd_6x6;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

ConvKernelInfo product_kernel(Isa isa, int64_t out_c) {
  if (isa == Isa::kAvx512) return conv2d_nhwc_avx512_kernel(out_c);
  if (isa == Isa::kAvx2) return conv2d_nhwc_avx2_kernel();
  fail_no_simd_kernel("conv2d_winograd", isa);
}

WinogradTransforms transforms_for(Isa isa, int64_t window) {
  if (isa == Isa::kAvx512) return winograd_6x6_avx512(window);
  if (isa == Isa::kAvx2) return winograd_6x6_avx2(window);
  fail_no_simd_kernel("conv2d_winograd", isa);
}

// The filter transform U = G g G^T of variant F for every (c, o), in double; point (i, j) of
// U becomes a 1x1 filter [c][o], u[i * 6 + j].
template <class F>
std::vector<std::vector<float>> transform_filter(int64_t in_c, int64_t out_c,
                                                 std::span<const float> filter) {
  constexpr int r = F::kWindow;
  std::vector<std::vector<float>> u(wg::kPoints, std::vector<float>(in_c * out_c));
  for (int64_t co = 0; co < in_c * out_c; ++co) {
    double gt[r][wg::kTile];  // g G^T
    for (int a = 0; a < r; ++a) {
      for (int j = 0; j < wg::kTile; ++j) {
        double sum = 0;
        for (int b = 0; b < r; ++b) sum += filter[(a * r + b) * in_c * out_c + co] * F::kG[j][b];
        gt[a][j] = sum;
      }
    }
    for (int i = 0; i < wg::kTile; ++i) {
      for (int j = 0; j < wg::kTile; ++j) {
        double sum = 0;
        for (int a = 0; a < r; ++a) sum += F::kG[i][a] * gt[a][j];
        u[i * wg::kTile + j][co] = static_cast<float>(sum);
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

// Tiles per block. Each block multiplies its tiles with all of U (36 x in_c x out_c floats).
// When U fits in L2 (512 KiB here) next to the block, blocks are kept small (V[36][tiles][in_c]
// up to 64 KiB) so that U stays there from block to block; when it does not (Inception's
// layers from 64 -> 96 channels on, and the 5x5 48 -> 64), blocks are larger (V up to
// 128 KiB) so that each pass of U from L3 serves more tiles. Either way a multiple of the
// micro-kernel's rows (a short block runs short micro-tiles). Products are made for a group of
// panels at a time, M[36][tiles][group] up to 256 KiB. (Measured on Inception's layers, one
// thread, interleaved runs on the shared machine: the small blocks 5-30% faster than 256 KiB
// ones on 32 -> 32 and 32 -> 64; for the others, 128 KiB blocks with 256 KiB groups 5-10%
// faster than 256 KiB blocks with 128 KiB groups on 48 -> 64 5x5 and 64 -> 96, the same on
// 96 -> 96 and 80 -> 192.)
constexpr int64_t kSmallU = 64 * 1024, kSmallBlock = 16 * 1024, kLargeBlock = 32 * 1024;
constexpr int64_t kGroupFloats = 64 * 1024;
constexpr int64_t kMaxBlockTiles = 96;

struct Plan {
  int64_t out = 0;                              // output pixels per tile side
  int64_t tiles_h = 0, tiles_w = 0, tiles = 0;  // per image, and over the batch
  int64_t v_pitch = 0;       // floats from one tile's transformed channels to the next
  int64_t block_tiles = 0;   // tiles per block
  int64_t group_panels = 0;  // panels per group
  int64_t tile_shares = 1, panel_shares = 1;
};

Plan make_plan(const ConvShape& s, const WinogradFilter& f, const ConvKernelInfo& kernel,
               int64_t shares) {
  Plan p;
  p.out = wg::kTile + 1 - f.window;
  p.tiles_h = ceil_div(s.out_h, p.out);
  p.tiles_w = ceil_div(s.out_w, p.out);
  p.tiles = s.batch * p.tiles_h * p.tiles_w;
  // Whole vectors of every ISA; not a multiple of 4 KiB, or the micro-kernel's rows would
  // share L1 cache sets (as conv2d_nhwc.cc respaces such inputs).
  p.v_pitch = (s.in_c + 15) / 16 * 16;
  if (p.v_pitch % 1024 == 0) p.v_pitch += 16;
  const int64_t rows = kernel.tile_pixels;
  const int64_t block_floats =
      wg::kPoints * s.in_c * s.out_c <= kSmallU ? kSmallBlock : kLargeBlock;
  p.block_tiles = std::clamp(block_floats / (wg::kPoints * p.v_pitch) / rows * rows, rows,
                             kMaxBlockTiles / rows * rows);
  const int64_t panels = f.points[0].num_panels;
  p.group_panels = std::clamp<int64_t>(
      kGroupFloats / (wg::kPoints * p.block_tiles * kernel.panel_width), 1, panels);
  // Threads split the tiles in runs of whole micro-tiles; a layer with fewer micro-tiles than
  // shares (an 8x8 image has 4 tiles) splits the panels too.
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
    const int64_t v_point = plan_.block_tiles * plan_.v_pitch;
    const int64_t m_point = plan_.block_tiles * s_.out_c;
    float* v = thread_scratch(wg::kPoints * (v_point + m_point) + wg::kPoints * s_.in_c);
    float* m = v + wg::kPoints * v_point;
    float* window = m + wg::kPoints * m_point;
    for (int64_t t0 = u.tile_begin; t0 < u.tile_end; t0 += plan_.block_tiles) {
      const int64_t tiles = std::min(plan_.block_tiles, u.tile_end - t0);
      for (int64_t k = 0; k < tiles; ++k) transform_input(t0 + k, window, v + k * plan_.v_pitch);
      for (int64_t g = u.panel_begin; g < u.panel_end; g += plan_.group_panels) {
        const int64_t g_end = std::min(u.panel_end, g + plan_.group_panels);
        multiply(tiles, v, v_point, m, m_point, g, g_end);
        const int64_t c0 = g * kernel_.panel_width;
        const int64_t c1 = std::min(s_.out_c, g_end * kernel_.panel_width);
        for (int64_t k = 0; k < tiles; ++k)
          transform_output(t0 + k, m + k * s_.out_c + c0, m_point, c0, c1 - c0);
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
    return {n, r / plan_.tiles_w * plan_.out, r % plan_.tiles_w * plan_.out};
  }

  // Tile t's 6x6 window, read in place when it lies inside the image, else copied into
  // `window` with zeros for the cells outside.
  void transform_input(int64_t t, float* window, float* v) const {
    const TilePos p = position(t);
    const int64_t y0 = p.y - s_.pad_top, x0 = p.x - s_.pad_left;
    const int64_t c = s_.in_c, row = s_.in_w * c;
    const float* image = input_ + p.n * s_.in_h * row;
    const int64_t v_point = plan_.block_tiles * plan_.v_pitch;
    if (y0 >= 0 && x0 >= 0 && y0 + wg::kTile <= s_.in_h && x0 + wg::kTile <= s_.in_w) {
      transforms_.input(image + y0 * row + x0 * c, row, c, c, v, v_point);
      return;
    }
    for (int64_t i = 0; i < wg::kTile; ++i) {
      for (int64_t j = 0; j < wg::kTile; ++j) {
        float* cell = window + (i * wg::kTile + j) * c;
        const int64_t y = y0 + i, x = x0 + j;
        if (y >= 0 && y < s_.in_h && x >= 0 && x < s_.in_w) {
          std::memcpy(cell, image + y * row + x * c, c * sizeof(float));
        } else {
          std::memset(cell, 0, c * sizeof(float));
        }
      }
    }
    transforms_.input(window, wg::kTile * c, c, c, v, v_point);
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
    job.out_c = s_.out_c;
    job.taps = std::span(&tap, 1);
    job.regions = std::span(&region, 1);
    job.tiles = std::span(micro.data(), n_micro);
    job.bias = f_.zeros.data();
    for (int point = 0; point < wg::kPoints; ++point) {
      job.input = v + point * v_point;
      job.filter = &f_.points[point];
      job.output = m + point * m_point;
      kernel_.run(job, 0, n_micro, panel_begin, panel_end);
    }
  }

  // Channels [c0, c0 + channels) of tile t's output pixels inside the image.
  void transform_output(int64_t t, const float* m, int64_t m_point, int64_t c0,
                        int64_t channels) const {
    const TilePos p = position(t);
    float* out = output_ + ((p.n * s_.out_h + p.y) * s_.out_w + p.x) * s_.out_c + c0;
    const int rows = static_cast<int>(std::min(plan_.out, s_.out_h - p.y));
    const int cols = static_cast<int>(std::min(plan_.out, s_.out_w - p.x));
    transforms_.output(m, m_point, channels, bias_ + c0, act_, out, s_.out_w * s_.out_c, s_.out_c,
                       rows, cols);
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
};

}  // namespace

bool winograd_applies(const ConvShape& s) {
  return s.k_h == s.k_w && (s.k_h == 3 || s.k_h == 5) && s.stride_h == 1 && s.stride_w == 1 &&
         s.dilation_h == 1 && s.dilation_w == 1;
}

WinogradFilter pack_winograd_filter(Isa isa, int64_t window, int64_t in_c, int64_t out_c,
                                    std::span<const float> filter) {
  if (!isa_available(isa)) fail("pack_winograd_filter: ISA '", isa_name(isa), "' is not available");
  if (window != 3 && window != 5)
    fail("pack_winograd_filter: ", window, "x", window, " filters have no Winograd variant");
  if (static_cast<int64_t>(filter.size()) != window * window * in_c * out_c)
    fail("pack_winograd_filter: filter has ", filter.size(), " values, expected ",
         window * window * in_c * out_c);
  const auto u = window == 3 ? transform_filter<wg::F4x4_3x3>(in_c, out_c, filter)
                             : transform_filter<wg::F2x2_5x5>(in_c, out_c, filter);
  std::vector<PackedConvFilter> points;
  for (const std::vector<float>& point : u)
    points.push_back(pack_conv_filter(isa, 1, 1, in_c, out_c, point));
  std::vector<float> zeros(points[0].num_panels * points[0].panel_width, 0.f);
  return {isa, window, in_c, out_c, std::move(points), std::move(zeros)};
}

void conv2d_winograd(const ConvShape& s, std::span<const float> input, const WinogradFilter& filter,
                     std::span<const float> bias, Activation act, std::span<float> output,
                     ThreadPool* pool) {
  if (!winograd_applies(s))
    fail("conv2d_winograd: needs a 3x3 or 5x5 window, stride 1 and no dilation");
  if (filter.window != s.k_h || filter.in_c != s.in_c || filter.out_c != s.out_c)
    fail("conv2d_winograd: the filter does not match the convolution's shape");
  if (static_cast<int64_t>(input.size()) != s.input_size() ||
      static_cast<int64_t>(output.size()) != s.output_size() ||
      (!bias.empty() && static_cast<int64_t>(bias.size()) != s.out_c))
    fail("conv2d_winograd: input, output or bias size does not match the shape");
  if (s.output_size() == 0) return;
  const ConvKernelInfo kernel = product_kernel(filter.isa, s.out_c);
  if (kernel.panel_width != filter.points[0].panel_width)
    fail("conv2d_winograd: the filter was packed for another micro-kernel");
  const WinogradTransforms transforms = transforms_for(filter.isa, filter.window);
  const int64_t shares = pool ? pool->size() * ThreadPool::kChunksPerThread : 1;
  const Plan plan = make_plan(s, filter, kernel, shares);
  const Runner runner(s, input.data(), filter, bias.empty() ? filter.zeros.data() : bias.data(),
                      act, output.data(), plan, kernel, transforms);
  const int64_t rows = kernel.tile_pixels;
  const int64_t micro_tiles = ceil_div(plan.tiles, rows);
  const int64_t panels = filter.points[0].num_panels;
  parallel_for(pool, plan.tile_shares * plan.panel_shares, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t ts = i / plan.panel_shares, ps = i % plan.panel_shares;
      runner.run({std::min(plan.tiles, ts * micro_tiles / plan.tile_shares * rows),
                  std::min(plan.tiles, (ts + 1) * micro_tiles / plan.tile_shares * rows),
                  ps * panels / plan.panel_shares, (ps + 1) * panels / plan.panel_shares});
    }
  });
}

}  // namespace poet::kernels::x86
