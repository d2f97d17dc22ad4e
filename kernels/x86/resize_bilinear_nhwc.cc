// The ISA-independent half of the fast bilinear resize: checks, the index tables, and the split
// of output rows over threads. The arithmetic is in resize_bilinear_nhwc_vec.h.
#include "kernels/x86/resize_bilinear_nhwc.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "engine/error.h"
#include "engine/thread_pool.h"

namespace poet::kernels::x86 {
namespace {

// Entries per table: whole vectors of the widest ISA, so the last vector of a row never
// reads past the tables (its extra lanes gather input value 0 and are not stored).
constexpr int64_t kTablePadding = 16;

struct ColumnTables {
  std::vector<int32_t> left, right;
  std::vector<float> x_lerp;
};

ColumnTables column_tables(const ref::ResizeShape& s, ref::ResizeGrid grid) {
  const std::vector<ref::Interpolation> xs = ref::interpolation_weights(s.in_w, s.out_w, grid);
  const int64_t out_row = s.out_w * s.channels;
  const auto padded =
      static_cast<size_t>((out_row + kTablePadding - 1) / kTablePadding * kTablePadding);
  ColumnTables t{std::vector<int32_t>(padded, 0), std::vector<int32_t>(padded, 0),
                 std::vector<float>(padded, 0.f)};
  for (int64_t x = 0; x < s.out_w; ++x) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const int64_t j = x * s.channels + c;
      t.left[j] = static_cast<int32_t>(xs[x].lower * s.channels + c);
      t.right[j] = static_cast<int32_t>(xs[x].upper * s.channels + c);
      t.x_lerp[j] = xs[x].lerp;
    }
  }
  return t;
}

}  // namespace

void resize_bilinear_nhwc(Isa isa, const ref::ResizeShape& s, ref::ResizeGrid grid,
                          std::span<const float> input, std::span<float> output, ThreadPool* pool) {
  const int64_t out_rows = s.batch * s.out_h, out_row = s.out_w * s.channels;
  if (static_cast<int64_t>(input.size()) != s.batch * s.in_h * s.in_w * s.channels ||
      static_cast<int64_t>(output.size()) != out_rows * out_row)
    fail("resize_bilinear_nhwc: buffer sizes (input ", input.size(), ", output ", output.size(),
         ") do not match the shape");
  if (output.empty()) return;
  // The gathers take 32-bit offsets within an input row.
  if (isa == Isa::kRef || s.in_w * s.channels > std::numeric_limits<int32_t>::max())
    return ref::resize_bilinear(s, grid, input, output);
  const ResizeRowsFn rows = simd_kernels(isa, resize_bilinear_nhwc_avx2_rows,
                                         resize_bilinear_nhwc_avx512_rows, "resize_bilinear_nhwc");
  const ColumnTables tables = column_tables(s, grid);
  const std::vector<ref::Interpolation> ys = ref::interpolation_weights(s.in_h, s.out_h, grid);
  const ResizeJob job{s,
                      input.data(),
                      output.data(),
                      ys.data(),
                      tables.left.data(),
                      tables.right.data(),
                      tables.x_lerp.data()};
  // Rows of at least ~16K output values per task.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(out_row, 1));
  parallel_for(pool, out_rows, grain, [&](int64_t begin, int64_t end) { rows(job, begin, end); });
}

}  // namespace poet::kernels::x86
