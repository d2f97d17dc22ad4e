// The register-blocked Conv2D micro-kernel, written once for any SIMD width. Included only by
// conv2d_nhwc_<isa>.cc, each compiled with its ISA's flags, with a traits type `V`:
//   V::Reg                 the vector register type (__m256, __m512)
//   V::kWidth              floats per register
//   V::kTileRows           output pixels per micro-tile (MR)
//   V::kPanelVecs          vectors per filter panel (NR / kWidth)
//   V::load/broadcast/fmadd/add/zero/max/min/set1, store(p, r), and load_first(p, n) /
//   store_first(p, r, n) for the first n < kWidth lanes
//
// Blocking scheme. The output is a matrix [pixels][out_c]. A micro-tile is MR output pixels
// of one region (conv2d_nhwc.h: pixels whose windows have the same taps inside the image) x
// one filter panel (NR output channels, kPanelVecs vectors): MR x kPanelVecs accumulator
// registers (AVX-512: 8 x 3 zmm, or 12 x 2 for layers of at most 32 output channels; AVX2:
// 6 x 2 ymm) that stay in registers for the whole reduction. The reduction runs over the
// region's taps (runs of in-image window cells, see ConvTap) and their channels c: load the
// panel's weight vectors for (tap, c) once, then for each of the MR pixels broadcast its input
// value at that tap and channel and FMA it into every accumulator of its row. Each weight load
// serves MR FMAs and each broadcast kPanelVecs, so the loop is bound by FMA throughput, not
// loads. A region with one tap run (every 1x1 convolution) is a GEMM, and its full panels run
// a leaner kernel without the tap loop (gemm_kernel). Border regions simply have fewer taps:
// the padding's zeros are never multiplied. A short tile (a region's last, or its last two
// when one pixel would be left over: see plan_tiles) runs a kernel with MR/4, MR/2, 3MR/4 or
// MR rows, the smallest that covers it; a layer's last panel runs only the vectors that hold
// real output channels.
//
// Per tile, the pixels' input and output pointers are stepped along the region's rows, and
// each tap run is walked by one index over those fixed pointers: no per-pixel multiplications
// and no pointer set-up per tap (on the 3-channel stem, 3 runs of 9 per tile, this set-up was
// a sixth of the time).
//
// Around it (conv2d_nhwc.cc): a work item is a block of micro-tiles (as many as keep the
// block's input within a quarter of a 1 MiB L2, at least 8) times a range of panels. The
// panels are taken in groups of at most 128 KiB of weights, and each tile of the block runs
// a group's panels in turn (tile-outer, see run): the tile's input is read from L1 by every
// panel, the group's weights from L2, and the block's input stays in L2 for the next group,
// whose weights are prefetched meanwhile (Prefetch).
// When a panel's weights would not fit in L2 (over 1 MiB: none of Inception v3's do), the
// input channels are cut into slices, looping slice / panel / tile: the first slice starts
// from the bias, later ones add to the partial sums in the output, and the activation is
// applied after the last.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/x86/conv2d_nhwc.h"
#include "kernels/x86/prefetch_for_writing.h"

namespace poet::kernels::x86 {

template <class V>
struct BlockedConv {
  static constexpr int kRows = V::kTileRows;
  static constexpr int kVecs = V::kPanelVecs;
  static constexpr int kPanel = kVecs * V::kWidth;
  using Reg = typename V::Reg;

  static ConvKernelInfo info() { return {kRows, kPanel, &run}; }

  static void run(const ConvTileJob& job, int64_t tile_begin, int64_t tile_end, int64_t panel_begin,
                  int64_t panel_end) {
    // Unsliced, the call's panels are taken in groups whose weights take at most
    // kTileOuterWeightBytes (with the next group's, half of a 512 KiB L2), and each tile runs a
    // group's panels in turn: its pixel pointers are set up once instead of once per panel, its
    // input is read from L1 by every panel, and the group's weights stream from L2, fetched there
    // while the group before ran (Prefetch). Sliced, each panel passes over
    // the tiles, its slice of weights kept in cache while the tiles' input streams past.
    // Measured against a pass per panel: MobileNet v1's 1x1 layers on 32-64 channels (the
    // whole layer one group, up to 32 KiB: 9-27% faster), on 128-256 channels (64-256 KiB,
    // whose panel passes had each re-read the block's input from a crowded L2: 7-25% faster),
    // and in groups on 512-1024 channels (1-4 MiB: 2-5% faster on one thread).
    if (job.c_block >= job.max_run) {
      const int64_t group = tile_outer_panels(*job.filter);
      const Slice whole{0, job.c_block, true};
      const bool consecutive = consecutive_pixels(job);
      for (int64_t g = panel_begin; g < panel_end; g += group) {
        const int64_t g_end = smaller(g + group, panel_end);
        Prefetch next_group = prefetch_panels(job, g + group, smaller(g + 2 * group, panel_end));
        int64_t t = tile_begin;
        if (consecutive && g_end <= job.out_c / kPanel) {
          while (t < tile_end && job.tiles[t].rows == kRows) ++t;
          gemm_tiles(job, tile_begin, t, g, g_end, whole, next_group);
        }
        for (; t < tile_end; ++t) dispatch_rows(job, job.tiles[t], g, g_end, whole, next_group);
      }
      return;
    }
    Prefetch none;
    for (int64_t c0 = 0; c0 < job.max_run; c0 += job.c_block) {
      const Slice slice{c0, c0 + job.c_block, c0 + job.c_block >= job.max_run};
      for (int64_t panel = panel_begin; panel < panel_end; ++panel)
        for (int64_t t = tile_begin; t < tile_end; ++t)
          dispatch_rows(job, job.tiles[t], panel, panel + 1, slice, none);
    }
  }

 private:
  // The next group's weights, still to be fetched into L2 while the current group runs: its
  // first weights come from memory, since a layer's weights were last read a whole graph
  // earlier, and the group's first tile would otherwise wait on every cache line. The GEMM
  // kernel prefetches at an eighth of the rate it reads weights, so the next group arrives
  // over the current group's first eight tiles without crowding their loads. Measured in the
  // graph against no prefetch and 256 KiB groups: MobileNet v1's 7x7x1024 pointwise layers
  // 8-13% faster on one and two threads, Inception v3's 8x8 1x1 layers on 1280-2048 channels
  // 2-9% on one thread (level on two).
  struct Prefetch {
    const char* next = nullptr;
    int64_t lines = 0;
  };
  static constexpr int kLineBytes = 64;

  static Prefetch prefetch_panels(const ConvTileJob& job, int64_t begin, int64_t end) {
    if (begin >= end) return {};
    const int64_t panel_floats = job.filter->panel_floats();
    return {reinterpret_cast<const char*>(job.filter->weights() + begin * panel_floats),
            (end - begin) * panel_floats * int64_t{sizeof(float)} / kLineBytes};
  }

  // The part [begin, end) of every tap run that one pass reduces over.
  struct Slice {
    int64_t begin, end;
    bool last;
    bool first() const { return begin == 0; }
  };

  // Not std::min: everything instantiated here is compiled with this ISA's flags, and a shared
  // inline function emitted from this file could be picked by the linker for generic code.
  static int64_t smaller(int64_t a, int64_t b) { return a < b ? a : b; }

  // A short tile runs the kernel with the next quarter of MR rows that covers it.
  static void dispatch_rows(const ConvTileJob& job, const ConvTile& tile, int64_t panel_begin,
                            int64_t panel_end, Slice slice, Prefetch& prefetch) {
    if (tile.rows <= kRows / 4) {
      tile_panels<kRows / 4>(job, tile, panel_begin, panel_end, slice, prefetch);
    } else if (tile.rows <= kRows / 2) {
      tile_panels<kRows / 2>(job, tile, panel_begin, panel_end, slice, prefetch);
    } else if (tile.rows <= kRows * 3 / 4) {
      tile_panels<kRows * 3 / 4>(job, tile, panel_begin, panel_end, slice, prefetch);
    } else {
      tile_panels<kRows>(job, tile, panel_begin, panel_end, slice, prefetch);
    }
  }

  // Where each of a tile's pixels reads its first valid tap, and where it writes channel 0.
  template <int kM>
  struct TilePixels {
    const float* first_tap[kM];
    float* out[kM];
  };

  // The tile's pixels, stepping along the region's rows (no multiplications per pixel: this
  // runs for every tile). Missing rows of a short tile repeat the last pixel, whose results
  // are not stored.
  template <int kM>
  static TilePixels<kM> tile_pixels(const ConvTileJob& job, const ConvTile& tile) {
    const ConvRegion& region = job.regions[tile.region];
    // A region with no tap in the image (explicit padding wider than the window) reads
    // nothing; its pixels' windows may lie wholly outside the input.
    const bool reads = region.tap_begin < region.tap_end;
    const int64_t in_step = reads ? job.stride_w * job.pixel_floats : 0;
    const int64_t in_wrap =
        reads ? (job.stride_h * job.row_pixels - region.width * job.stride_w) * job.pixel_floats
              : 0;
    const int64_t out_wrap = (job.out_w - region.width) * job.out_stride;
    const float* in_pixel =
        reads ? job.input + ((region.in_y0 + tile.dy * job.stride_h) * job.row_pixels +
                             region.in_x0 + tile.dx * job.stride_w) *
                                job.pixel_floats
              : job.input;
    float* out_pixel =
        job.output + ((region.y0 + tile.dy) * job.out_w + region.x0 + tile.dx) * job.out_stride;
    TilePixels<kM> pixels;
    int64_t dx = tile.dx;
#pragma GCC unroll 16
    for (int i = 0; i < kM; ++i) {
      pixels.first_tap[i] = in_pixel;
      pixels.out[i] = out_pixel;
      if (i + 1 < tile.rows) {
        in_pixel += in_step;
        out_pixel += job.out_stride;
        if (++dx == region.width) {
          dx = 0;
          in_pixel += in_wrap;
          out_pixel += out_wrap;
        }
      }
    }
    return pixels;
  }

  template <int kM>
  static void tile_panels(const ConvTileJob& job, const ConvTile& tile, int64_t panel_begin,
                          int64_t panel_end, Slice slice, Prefetch& prefetch) {
    const TilePixels<kM> pixels = tile_pixels<kM>(job, tile);
    const ConvRegion& region = job.regions[tile.region];
    int64_t panel = panel_begin;
    if (region.tap_end - region.tap_begin == 1) {
      const int64_t full_end = smaller(panel_end, job.out_c / kPanel);
      if (panel < full_end) {
        gemm_panels<kM>(job, job.taps[region.tap_begin], pixels, tile.rows, panel, full_end, slice,
                        prefetch);
        panel = full_end;
      }
    }
    for (; panel < panel_end; ++panel) {
      // A last panel runs only the vectors holding real channels.
      const int64_t used = smaller(kVecs, (job.out_c - panel * kPanel + V::kWidth - 1) / V::kWidth);
      if constexpr (kVecs >= 3) {
        if (used == 3) {
          panel_kernel<kM, 3>(job, region, pixels, tile.rows, panel, slice);
          continue;
        }
      }
      if (used == 2) {
        panel_kernel<kM, 2>(job, region, pixels, tile.rows, panel, slice);
      } else {
        panel_kernel<kM, 1>(job, region, pixels, tile.rows, panel, slice);
      }
    }
  }

  // A 1x1 convolution of stride 1 whose output rows are as wide as its input's is one region
  // whose pixels, and so whose tiles, follow each other in memory, input and output alike.
  static bool consecutive_pixels(const ConvTileJob& job) {
    return job.regions.size() == 1 && job.taps.size() == 1 && job.stride_h == 1 &&
           job.stride_w == 1 && job.regions[0].width == job.out_w && job.row_pixels == job.out_w;
  }

  // Full tiles [tile_begin, tile_end) of such a layer, each over full panels [panel_begin,
  // panel_end): the pixel pointers are set up once and stepped by a tile, not worked out per
  // tile from its region. On few input channels that set-up weighed as much as the FMAs:
  // MobileNet v1 0.25's 64x64x8 -> 16 layer took 36 us, now 21-23 (oneDNN: 14); 32x32x16 -> 32
  // 1.3x faster, 3-8% on 32 channels, nothing from 64 up.
  static void gemm_tiles(const ConvTileJob& job, int64_t tile_begin, int64_t tile_end,
                         int64_t panel_begin, int64_t panel_end, Slice slice, Prefetch& prefetch) {
    if (tile_begin == tile_end) return;
    TilePixels<kRows> pixels = tile_pixels<kRows>(job, job.tiles[tile_begin]);
    for (int64_t t = tile_begin; t < tile_end; ++t) {
      gemm_panels<kRows>(job, job.taps[0], pixels, kRows, panel_begin, panel_end, slice, prefetch);
#pragma GCC unroll 16
      for (int i = 0; i < kRows; ++i) {
        pixels.first_tap[i] += kRows * job.pixel_floats;
        pixels.out[i] += kRows * job.out_stride;
      }
    }
  }

  // A region with a single tap run (every 1x1 convolution) is a GEMM: the tile's kM input rows
  // times each panel's weights. Its full panels run a kernel with no tap loop and plain pointer
  // arguments: at 32-64 input channels (192-384 cycles of FMAs per panel) the general
  // kernel's set-up per panel had cost a fifth of the time.
  template <int kM>
  static void gemm_panels(const ConvTileJob& job, const ConvTap& tap, const TilePixels<kM>& pixels,
                          int rows, int64_t panel_begin, int64_t panel_end, Slice slice,
                          Prefetch& prefetch) {
    const int64_t k0 = tap.input_offset + slice.begin;
    const int64_t len = smaller(slice.end, tap.length) - slice.begin;
    const float* a[kM];
#pragma GCC unroll 16
    for (int i = 0; i < kM; ++i) a[i] = pixels.first_tap[i] + k0;
    const int64_t panel_floats = job.filter->panel_floats();
    const float* w = job.filter->weights() + panel_begin * panel_floats + tap.weight_offset +
                     slice.begin * kPanel;
    const Activation act = slice.last ? job.act : Activation::kNone;
    for (int64_t panel = panel_begin; panel < panel_end; ++panel, w += panel_floats) {
      const int64_t o0 = panel * kPanel;
      gemm_kernel<kM>(a, w, len, slice.first() ? job.bias + o0 : nullptr, pixels.out, o0, rows, act,
                      prefetch);
    }
  }

  // kM rows x one full panel over `len` channels: acc = init (the bias, or when null the
  // partial sums in the output), acc += a[i][k] * w[k], then the activation and store. Out of
  // line, so registers are allocated for this loop alone: inlined into the panel loop, GCC
  // kept the input pointers on the stack and reloaded them for every broadcast. The output
  // pointers are formed after the loop for the same reason.
  //
  // Keeping both FMA pipes busy takes 8 independent sums (2 pipes x 4 cycles of latency on Zen
  // 3 and on Intel since Skylake). A short tile has fewer accumulators, and a one-row tile (a
  // one-pixel layer: MobileNet's logits, a retrained final layer's MatMul) only kVecs, each
  // step's FMAs waiting on the step before's: such a tile keeps kSets sets of accumulators,
  // step k adding into set k % kSets, and adds the sets up at the end. Alone, with its 4 MB of
  // weights in L3, MobileNet v1 1.0's logits layer (1024 -> 1001) ran 1.3x faster on one
  // thread (61 GB/s instead of 47: about what one core streams from L3 here); in the graph,
  // where those weights come from memory, 2% on one thread and no faster on two.
  // Only one-row tiles do so: the sets sum in another order, and a tile of 2-4 rows is the
  // end of a run of pixels whose length the threads decide (a 1x1 layer cuts one band of
  // pixels per thread), so the sets there made a pixel's bits depend on the split. A one-row
  // tile is a run of one pixel: a one-pixel image or padding region, whatever the threads.
  template <int kM>
  [[gnu::noinline]] static void gemm_kernel(const float* const (&a)[kM], const float* w,
                                            int64_t len, const float* bias,
                                            float* const (&out_rows)[kM], int64_t o0, int rows,
                                            Activation act, Prefetch& prefetch) {
    constexpr int kSums = 8, kSets = kM == 1 ? (kSums + kVecs - 1) / kVecs : 1;
    Reg acc[kSets][kM][kVecs];
#pragma GCC unroll 16
    for (int i = 0; i < kM; ++i) {
#pragma GCC unroll 4
      for (int v = 0; v < kVecs; ++v) {
        acc[0][i][v] = V::load((bias ? bias : out_rows[i] + o0) + v * V::kWidth);
#pragma GCC unroll 4
        for (int set = 1; set < kSets; ++set) acc[set][i][v] = V::zero();
      }
    }
    // Eight steps read 8 * kPanel floats of weights; prefetch an eighth of that meanwhile.
    constexpr int kSteps = 8, kLines = kPanel * int{sizeof(float)} / kLineBytes;
    const char* line = prefetch.next;
    int64_t lines = prefetch.lines, k = 0;
    for (; lines >= kLines && k + kSteps <= len; k += kSteps, lines -= kLines) {
#pragma GCC unroll 4
      for (int l = 0; l < kLines; ++l, line += kLineBytes) _mm_prefetch(line, _MM_HINT_T1);
#pragma GCC unroll 8
      for (int s = 0; s < kSteps; ++s, w += kPanel)
        fma_step<kM, kVecs>(acc[s % kSets], a, k + s, w);
    }
    prefetch = {line, lines};
    // The same, nothing left to prefetch. (One loop prefetching under a condition ran every
    // pointwise layer of MobileNet v1 1.0 3% slower.)
    for (; k + kSteps <= len; k += kSteps) {
#pragma GCC unroll 8
      for (int s = 0; s < kSteps; ++s, w += kPanel)
        fma_step<kM, kVecs>(acc[s % kSets], a, k + s, w);
    }
#pragma GCC unroll 4
    for (; k < len; ++k, w += kPanel) fma_step<kM, kVecs>(acc[0], a, k, w);
#pragma GCC unroll 4
    for (int set = 1; set < kSets; ++set) {
#pragma GCC unroll 16
      for (int i = 0; i < kM; ++i) {
#pragma GCC unroll 4
        for (int v = 0; v < kVecs; ++v) acc[0][i][v] = V::add(acc[0][i][v], acc[set][i][v]);
      }
    }
    float* out[kM];
#pragma GCC unroll 16
    for (int i = 0; i < kM; ++i) out[i] = out_rows[i] + o0;
    store<kM, kVecs>(acc[0], out, rows, kPanel, act);
  }

  // One tile (rows <= kM pixels) for the first kUsed vectors of one panel, summing over
  // `slice` of every tap run of the tile's region. The first slice starts from the bias,
  // later ones from the partial sums already in the output.
  template <int kM, int kUsed>
  static void panel_kernel(const ConvTileJob& job, const ConvRegion& region,
                           const TilePixels<kM>& pixels, int rows, int64_t panel, Slice slice) {
    const int64_t o0 = panel * kPanel;
    const int valid = static_cast<int>(smaller(kPanel, job.out_c - o0));
    const float* first_tap[kM];
    float* out[kM];
#pragma GCC unroll 16
    for (int i = 0; i < kM; ++i) {
      first_tap[i] = pixels.first_tap[i];
      out[i] = pixels.out[i] + o0;
    }

    Reg acc[kM][kUsed];
#pragma GCC unroll 16
    for (int i = 0; i < kM; ++i) {
#pragma GCC unroll 4
      for (int v = 0; v < kUsed; ++v) {
        acc[i][v] =
            slice.first() ? V::load(job.bias + o0 + v * V::kWidth) : load_valid(out[i], v, valid);
      }
    }

    const float* panel_weights = job.filter->weights() + panel * job.filter->panel_floats();
    for (int64_t t = region.tap_begin; t < region.tap_end; ++t) {
      const ConvTap& tap = job.taps[t];
      // Pixel i's input for channel c of the run is first_tap[i][tap.input_offset + c]: the
      // pixel pointers stay in registers across taps and one index register walks the run.
      const float* w = panel_weights + tap.weight_offset + slice.begin * kPanel;
      const int64_t k_end = tap.input_offset + smaller(slice.end, tap.length);
      for (int64_t k = tap.input_offset + slice.begin; k < k_end; ++k, w += kPanel)
        fma_step<kM, kUsed>(acc, first_tap, k, w);
    }
    if (job.prefetch_output) prefetch_output_ahead<kM, kUsed>(job, out);
    store<kM, kUsed>(acc, out, rows, valid, slice.last ? job.act : Activation::kNone);
  }

  // The lines that the same rows of the panel will store kOutputAheadTiles tiles later (where
  // a region's tiles follow each other along its rows; near its end, the lines of another
  // region or past the output, harmlessly). For Inception v3's stem, 3x3 on 3 channels, whose
  // 27-step tiles store 24 vectors every ~330 cycles into 2.8 MB of lines last written a run
  // earlier. Measured in the graph (Zen 5, 12 rounds alternated with the code before): 0.331
  // -> 0.285 ms on one thread, 0.418 -> 0.380 on two; alone with its output evicted
  // (`conv2d_bench --cold_output`) 0.37-0.62 -> 0.27-0.32 (oneDNN 0.27-0.31); 1 to 8 tiles
  // ahead alike. The 1x1 GEMM kernel, whose reductions are 64 steps and more, does not do it.
  static constexpr int kOutputAheadTiles = 4;

  template <int kM, int kUsed>
  static void prefetch_output_ahead(const ConvTileJob& job, float* const (&out)[kM]) {
    const int64_t ahead = kOutputAheadTiles * kRows * job.out_stride * int64_t{sizeof(float)};
    std::uintptr_t fetched = 0;
#pragma GCC unroll 16
    for (int i = 0; i < kM; ++i) {
      const std::uintptr_t begin = reinterpret_cast<std::uintptr_t>(out[i]) + ahead;
      fetched = prefetch_for_writing(begin, begin + kUsed * sizeof(Reg), fetched);
    }
  }

  // One step of the reduction: the weight vectors w[0, kUsed) once, then for each row i the
  // broadcast of its input rows[i][k] into every accumulator of the row.
  template <int kM, int kUsed>
  [[gnu::always_inline]] static void fma_step(Reg (&acc)[kM][kUsed], const float* const (&rows)[kM],
                                              int64_t k, const float* w) {
    Reg wv[kUsed];
#pragma GCC unroll 4
    for (int v = 0; v < kUsed; ++v) wv[v] = V::load(w + v * V::kWidth);
#pragma GCC unroll 16
    for (int i = 0; i < kM; ++i) {
      const Reg a = V::broadcast(rows[i] + k);
#pragma GCC unroll 4
      for (int v = 0; v < kUsed; ++v) acc[i][v] = V::fmadd(a, wv[v], acc[i][v]);
    }
  }

  // Vector v of a row's panel, zeros past the `valid` real channels.
  static Reg load_valid(const float* row, int v, int valid) {
    const int n = valid - v * V::kWidth;
    if (n >= V::kWidth) return V::load(row + v * V::kWidth);
    return n > 0 ? V::load_first(row + v * V::kWidth, n) : V::zero();
  }

  template <int kM, int kUsed>
  static void store(Reg (&acc)[kM][kUsed], float* const (&out)[kM], int rows, int valid,
                    Activation act) {
    const Reg zero = V::zero(), six = V::set1(6.f);
#pragma GCC unroll 16
    for (int i = 0; i < kM; ++i) {
      if (i >= rows) break;
#pragma GCC unroll 4
      for (int v = 0; v < kUsed; ++v) {
        Reg r = acc[i][v];
        // Constant first: NaN and -0.0 pass through, as in activate_vector (simd_lanes.h).
        if (act != Activation::kNone) r = V::max(zero, r);
        if (act == Activation::kRelu6) r = V::min(six, r);
        const int n = valid - v * V::kWidth;
        if (n >= V::kWidth) {
          V::store(out[i] + v * V::kWidth, r);
        } else if (n > 0) {
          V::store_first(out[i] + v * V::kWidth, r, n);
        }
      }
    }
  }
};

}  // namespace poet::kernels::x86
