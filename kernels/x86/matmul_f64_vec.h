// The double-precision product's tiles, written once for any SIMD width. Included only by
// matmul_f64_<isa>.cc, each compiled with its ISA's flags and -ffp-contract=off, with vector
// traits `V` (lanes of doubles) from simd_<isa>.h.
//
// A tile is kRows rows of C by kVecs vectors of columns: kRows x kVecs accumulators (24 of the
// 32 zmm registers, 8 of the 16 ymm), each one element's running sum per lane. Each step p
// loads B's vectors of row p once and multiplies them by each row's A(i, p), broadcast: the
// loads and broadcasts are shared by the tile, and the independent adds hide the add's
// latency. The sums keep the reference's order because p is the only loop that adds. The
// loops over the accumulators are unrolled to keep them in registers: left as loops, GCC kept
// them on the stack and the tile ran at half the speed.
#pragma once

#include <algorithm>
#include <array>
#include <utility>

#include "kernels/x86/matmul_f64.h"

namespace poet::kernels::x86 {

template <class V>
struct MatmulF64Vec {
  using Reg = typename V::Reg;
  static constexpr int kW = V::kWidth;
  static constexpr int kRows = V::kRegisters >= 32 ? 8 : 4;
  // Three vectors on AVX-512 cover 24 columns, the fruit set's 22 classes in one tile: 12-18%
  // faster there than two vectors and a masked third pass, level on 102 classes.
  static constexpr int kVecs = V::kRegisters >= 32 ? 3 : 2;

  // Rows [begin, end) of C, every column.
  static void rows(const MatmulF64Shape& s, const float* a, const double* b, double* c,
                   int64_t begin, int64_t end) {
    for (int64_t j = 0; j < s.n; j += kVecs * kW) {
      const int64_t cols = std::min<int64_t>(kVecs * kW, s.n - j);
      for (int64_t i = begin; i < end; i += kRows) {
        const int rows = static_cast<int>(std::min<int64_t>(kRows, end - i));
        kTiles[rows - 1](s, a + i * s.a_row, b + j, c + i * s.ldc + j, static_cast<int>(cols));
      }
    }
  }

 private:
  using TileFn = void (*)(const MatmulF64Shape&, const float*, const double*, double*, int);

  // `cols` (1 to Vecs x kW) columns of `Rows` rows: as few vectors as hold them, the last one
  // whole or not.
  template <int Rows, int Vecs = kVecs>
  static void tile_cols(const MatmulF64Shape& s, const float* a, const double* b, double* c,
                        int cols) {
    if constexpr (Vecs > 1) {
      if (cols <= (Vecs - 1) * kW) return tile_cols<Rows, Vecs - 1>(s, a, b, c, cols);
    }
    const int lanes = cols - (Vecs - 1) * kW;
    if (lanes == kW) return tile<Rows, Vecs, false>(s, a, b, c, kW);
    tile<Rows, Vecs, true>(s, a, b, c, lanes);
  }

  // `Vecs` vectors of columns; with `Partial`, the last holds only `lanes` of them.
  template <int Rows, int Vecs, bool Partial>
  static void tile(const MatmulF64Shape& s, const float* a, const double* b, double* c, int lanes) {
    auto load = [lanes](const double* p, int v) {
      return Partial && v == Vecs - 1 ? V::load_first(p, lanes) : V::load(p);
    };
    // The loops over i and v unroll fully, so that acc stays in registers.
    Reg acc[Rows][Vecs];
#pragma GCC unroll 8
    for (int i = 0; i < Rows; ++i)
#pragma GCC unroll 3
      for (int v = 0; v < Vecs; ++v) acc[i][v] = load(c + i * s.ldc + v * kW, v);
    for (int64_t p = 0; p < s.k; ++p, a += s.a_col, b += s.ldb) {
      Reg bp[Vecs];
#pragma GCC unroll 3
      for (int v = 0; v < Vecs; ++v) bp[v] = load(b + v * kW, v);
#pragma GCC unroll 8
      for (int i = 0; i < Rows; ++i) {
        const Reg ai = V::broadcast(a[i * s.a_row]);
#pragma GCC unroll 3
        for (int v = 0; v < Vecs; ++v) acc[i][v] = V::add(acc[i][v], V::mul(ai, bp[v]));
      }
    }
#pragma GCC unroll 8
    for (int i = 0; i < Rows; ++i)
#pragma GCC unroll 3
      for (int v = 0; v < Vecs; ++v) {
        double* out = c + i * s.ldc + v * kW;
        if (Partial && v == Vecs - 1)
          V::store_first(out, acc[i][v], lanes);
        else
          V::store(out, acc[i][v]);
      }
  }

  template <size_t... R>
  static constexpr std::array<TileFn, sizeof...(R)> tiles(std::index_sequence<R...>) {
    return {&tile_cols<static_cast<int>(R) + 1>...};
  }
  // kTiles[r - 1] runs a tile of r rows (the last block of rows may be short).
  static constexpr std::array<TileFn, kRows> kTiles = tiles(std::make_index_sequence<kRows>());
};

}  // namespace poet::kernels::x86
