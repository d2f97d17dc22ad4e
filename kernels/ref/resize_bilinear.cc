#include "kernels/ref/resize_bilinear.h"

#include <algorithm>
#include <cmath>

namespace poet::kernels::ref {

std::vector<Interpolation> interpolation_weights(int64_t in_size, int64_t out_size,
                                                 ResizeGrid grid) {
  // TensorFlow computes the scale and the sample positions in float, not double.
  float scale = grid == ResizeGrid::kAlignCorners && out_size > 1
                    ? static_cast<float>(in_size - 1) / static_cast<float>(out_size - 1)
                    : static_cast<float>(in_size) / static_cast<float>(out_size);
  std::vector<Interpolation> out(static_cast<size_t>(out_size));
  for (int64_t i = 0; i < out_size; ++i) {
    float in = grid == ResizeGrid::kHalfPixel ? (static_cast<float>(i) + 0.5f) * scale - 0.5f
                                              : static_cast<float>(i) * scale;
    float in_floor = std::floor(in);
    out[i].lower = std::max(static_cast<int64_t>(in_floor), int64_t{0});
    out[i].upper = std::min(static_cast<int64_t>(std::ceil(in)), in_size - 1);
    out[i].lerp = in - in_floor;
  }
  return out;
}

template <class T>
void resize_bilinear_row(std::span<const Interpolation> xs, int64_t channels, const T* top_row,
                         const T* bottom_row, float y_lerp, float* out) {
  for (size_t x = 0; x < xs.size(); ++x) {
    const int64_t left = xs[x].lower * channels, right = xs[x].upper * channels;
    for (int64_t c = 0; c < channels; ++c) {
      float top_left = static_cast<float>(top_row[left + c]);
      float top_right = static_cast<float>(top_row[right + c]);
      float bottom_left = static_cast<float>(bottom_row[left + c]);
      float bottom_right = static_cast<float>(bottom_row[right + c]);
      float top = top_left + (top_right - top_left) * xs[x].lerp;
      float bottom = bottom_left + (bottom_right - bottom_left) * xs[x].lerp;
      out[static_cast<int64_t>(x) * channels + c] = top + (bottom - top) * y_lerp;
    }
  }
}

template <class T>
void resize_bilinear(const ResizeShape& s, ResizeGrid grid, std::span<const T> input,
                     std::span<float> output) {
  std::vector<Interpolation> ys = interpolation_weights(s.in_h, s.out_h, grid);
  std::vector<Interpolation> xs = interpolation_weights(s.in_w, s.out_w, grid);
  const int64_t c_n = s.channels;
  for (int64_t n = 0; n < s.batch; ++n) {
    const T* image = input.data() + n * s.in_h * s.in_w * c_n;
    for (int64_t y = 0; y < s.out_h; ++y)
      resize_bilinear_row<T>(xs, c_n, image + ys[y].lower * s.in_w * c_n,
                             image + ys[y].upper * s.in_w * c_n, ys[y].lerp,
                             output.data() + ((n * s.out_h + y) * s.out_w) * c_n);
  }
}

template void resize_bilinear_row<uint8_t>(std::span<const Interpolation>, int64_t, const uint8_t*,
                                           const uint8_t*, float, float*);

template void resize_bilinear<float>(const ResizeShape&, ResizeGrid, std::span<const float>,
                                     std::span<float>);
template void resize_bilinear<uint8_t>(const ResizeShape&, ResizeGrid, std::span<const uint8_t>,
                                       std::span<float>);
template void resize_bilinear<int32_t>(const ResizeShape&, ResizeGrid, std::span<const int32_t>,
                                       std::span<float>);
template void resize_bilinear<int64_t>(const ResizeShape&, ResizeGrid, std::span<const int64_t>,
                                       std::span<float>);

}  // namespace poet::kernels::ref
