// The bilinear resize rows, written once for any SIMD width. Included only by
// resize_bilinear_nhwc_<isa>.cc, each compiled with its ISA's flags, with vector traits `V`
// from simd_<isa>.h.
#pragma once

#include "kernels/x86/resize_bilinear_nhwc.h"

namespace poet::kernels::x86 {

template <class V>
struct ResizeBilinearVec {
  using Reg = typename V::Reg;
  static constexpr int kW = V::kWidth;

  static void rows(const ResizeJob& job, int64_t row_begin, int64_t row_end) {
    const ref::ResizeShape& s = job.shape;
    const int64_t in_row = s.in_w * s.channels, out_row = s.out_w * s.channels;
    for (int64_t r = row_begin; r < row_end; ++r) {
      const int64_t n = r / s.out_h, y = r % s.out_h;
      const float* image = job.input + n * s.in_h * in_row;
      const float* top = image + job.rows[y].lower * in_row;
      const float* bottom = image + job.rows[y].upper * in_row;
      const Reg y_lerp = V::set1(job.rows[y].lerp);
      float* out = job.output + r * out_row;
      for (int64_t j = 0; j < out_row; j += kW) {
        const Reg x_lerp = V::load(job.x_lerp + j);
        const Reg upper = lerp(V::gather(top, job.left + j), V::gather(top, job.right + j), x_lerp);
        const Reg lower =
            lerp(V::gather(bottom, job.left + j), V::gather(bottom, job.right + j), x_lerp);
        const Reg value = lerp(upper, lower, y_lerp);
        if (j + kW <= out_row) {
          V::store(out + j, value);
        } else {
          V::store_first(out + j, value, static_cast<int>(out_row - j));
        }
      }
    }
  }

 private:
  // a + (b - a) * t, TensorFlow's order of operations.
  static Reg lerp(Reg a, Reg b, Reg t) { return V::add(a, V::mul(V::sub(b, a), t)); }
};

}  // namespace poet::kernels::x86
