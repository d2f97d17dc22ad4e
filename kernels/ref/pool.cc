#include "kernels/ref/pool.h"

#include <algorithm>
#include <limits>

namespace poet::kernels::ref {
namespace {

// The part of one window that lies inside the image along an axis: [begin, end).
struct Span1 {
  int64_t begin, end;
};
Span1 clip_window(int64_t out_index, int64_t stride, int64_t pad, int64_t k, int64_t in) {
  int64_t start = out_index * stride - pad;
  return {std::max<int64_t>(start, 0), std::min(start + k, in)};
}

// Calls reduce(output cell, input cell) for every real input cell of every window, after
// init(output cell, cells in the window) has set the output up.
template <class Init, class Reduce, class Finish>
void pool(const ConvShape& s, std::span<const float> input, std::span<float> output, Init init,
          Reduce reduce, Finish finish) {
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t y = 0; y < s.out_h; ++y) {
      Span1 ry = clip_window(y, s.stride_h, s.pad_top, s.k_h, s.in_h);
      for (int64_t x = 0; x < s.out_w; ++x) {
        Span1 rx = clip_window(x, s.stride_w, s.pad_left, s.k_w, s.in_w);
        float* out = output.data() + ((n * s.out_h + y) * s.out_w + x) * s.out_pixel_stride();
        for (int64_t c = 0; c < s.out_c; ++c) init(out[c]);
        for (int64_t iy = ry.begin; iy < ry.end; ++iy) {
          for (int64_t ix = rx.begin; ix < rx.end; ++ix) {
            const float* in = input.data() + ((n * s.in_h + iy) * s.in_w + ix) * s.in_c;
            for (int64_t c = 0; c < s.out_c; ++c) reduce(out[c], in[c]);
          }
        }
        int64_t count =
            std::max<int64_t>(ry.end - ry.begin, 0) * std::max<int64_t>(rx.end - rx.begin, 0);
        for (int64_t c = 0; c < s.out_c; ++c) finish(out[c], count);
      }
    }
  }
}

}  // namespace

void max_pool(const ConvShape& s, std::span<const float> input, std::span<float> output) {
  pool(
      s, input, output, [](float& o) { o = std::numeric_limits<float>::lowest(); },
      [](float& o, float v) { o = std::max(o, v); }, [](float&, int64_t) {});
}

void avg_pool(const ConvShape& s, std::span<const float> input, std::span<float> output) {
  pool(
      s, input, output, [](float& o) { o = 0.f; }, [](float& o, float v) { o += v; },
      [](float& o, int64_t count) {
        if (count > 0) o /= static_cast<float>(count);
      });
}

}  // namespace poet::kernels::ref
