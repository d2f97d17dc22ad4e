// Reference Dequantize of quint8 values with a [min_range, max_range] float range, computed
// in float exactly as TensorFlow's CPU kernel does so that results match bit for bit.
#pragma once

#include <cstdint>
#include <span>

namespace poet::kernels::ref {

// MIN_COMBINED: out = q * ((max - min) / 255) + min.
void dequantize_min_combined(std::span<const uint8_t> in, float min_range, float max_range,
                             std::span<float> out);

// MIN_FIRST: the range is snapped so that min falls on a quantization step:
//   scale = (max - min) / 255   (range * 256/255 split into 256 steps)
//   min_rounded = round(min / scale) * scale   (min itself when min == max)
//   out = min_rounded + q * scale
// with scale and min_rounded rounded to float, as TensorFlow stores them.
void dequantize_min_first(std::span<const uint8_t> in, float min_range, float max_range,
                          std::span<float> out);

}  // namespace poet::kernels::ref
