#include "kernels/ref/dequantize.h"

#include <cmath>

namespace poet::kernels::ref {

void dequantize_min_combined(std::span<const uint8_t> in, float min_range, float max_range,
                             std::span<float> out) {
  const float scale = (max_range - min_range) / 255.f;
  for (size_t i = 0; i < in.size(); ++i) out[i] = static_cast<float>(in[i]) * scale + min_range;
}

void dequantize_min_first(std::span<const uint8_t> in, float min_range, float max_range,
                          std::span<float> out) {
  // number_of_steps = 256; range = (max - min) * 256/255; scale = range / 256, which
  // TensorFlow computes directly as (max - min) / 255.0 in double and keeps as a float.
  const float scale = static_cast<float>((max_range - min_range) / 255.0);
  const float min_rounded =
      max_range == min_range ? min_range : std::round(min_range / scale) * scale;
  // quint8's lowest value is 0, so there is no lowest-quantized offset to subtract.
  for (size_t i = 0; i < in.size(); ++i) out[i] = min_rounded + static_cast<float>(in[i]) * scale;
}

}  // namespace poet::kernels::ref
