// Reference bilinear resize with TensorFlow's ResizeBilinear arithmetic (sampling grid, float
// weights, order of the interpolations), so results match TensorFlow's to the last bit.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace poet::kernels::ref {

struct ResizeShape {
  int64_t batch = 1, in_h = 0, in_w = 0, channels = 0, out_h = 0, out_w = 0;
};

enum class ResizeGrid {
  kLegacy,        // in = out * in_size / out_size (TensorFlow 1's default)
  kAlignCorners,  // in = out * (in_size - 1) / (out_size - 1): corner pixels map to corners
  kHalfPixel,     // in = (out + 0.5) * in_size / out_size - 0.5
};

// Where output index i samples the input: rows/columns lower and upper, weight of upper.
struct Interpolation {
  int64_t lower = 0, upper = 0;
  float lerp = 0;
};

// TensorFlow's ComputeInterpolationWeights for one axis.
std::vector<Interpolation> interpolation_weights(int64_t in_size, int64_t out_size,
                                                 ResizeGrid grid);

// One output row (xs.size() pixels of `channels`): top + (bottom - top) * y_lerp, where top and
// bottom interpolate `top_row` and `bottom_row` at each x's lerp. For a caller that holds only
// the rows an output row reads (an image resized as it decodes).
template <class T>
void resize_bilinear_row(std::span<const Interpolation> xs, int64_t channels, const T* top_row,
                         const T* bottom_row, float y_lerp, float* out);

// output[n,y,x,c] = top + (bottom - top) * y_lerp, where top and bottom interpolate the
// input's lower and upper rows at x_lerp; input elements are converted to float first.
template <class T>
void resize_bilinear(const ResizeShape& shape, ResizeGrid grid, std::span<const T> input,
                     std::span<float> output);

}  // namespace poet::kernels::ref
