#include "kernels/ref/conv2d.h"

namespace poet::kernels::ref {

// Pointers by data() + offset, not &span[i]: with no input or output channels the spans are
// empty, and indexing an empty span is undefined even when nothing is read.
void conv2d(const ConvShape& s, std::span<const float> input, std::span<const float> filter,
            std::span<const float> bias, Activation act, std::span<float> output) {
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t y = 0; y < s.out_h; ++y) {
      for (int64_t x = 0; x < s.out_w; ++x) {
        float* out = output.data() + ((n * s.out_h + y) * s.out_w + x) * s.out_pixel_stride();
        for (int64_t o = 0; o < s.out_c; ++o) out[o] = bias.empty() ? 0.f : bias[o];
        for (int64_t ky = 0; ky < s.k_h; ++ky) {
          int64_t iy = y * s.stride_h + ky * s.dilation_h - s.pad_top;
          if (iy < 0 || iy >= s.in_h) continue;
          for (int64_t kx = 0; kx < s.k_w; ++kx) {
            int64_t ix = x * s.stride_w + kx * s.dilation_w - s.pad_left;
            if (ix < 0 || ix >= s.in_w) continue;
            const float* in = input.data() + ((n * s.in_h + iy) * s.in_w + ix) * s.in_c;
            const float* w = filter.data() + (ky * s.k_w + kx) * s.in_c * s.out_c;
            for (int64_t c = 0; c < s.in_c; ++c) {
              for (int64_t o = 0; o < s.out_c; ++o) out[o] += in[c] * w[c * s.out_c + o];
            }
          }
        }
        for (int64_t o = 0; o < s.out_c; ++o) out[o] = activate(out[o], act);
      }
    }
  }
}

}  // namespace poet::kernels::ref
