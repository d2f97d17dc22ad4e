#include "kernels/ref/bias_add.h"

namespace poet::kernels::ref {

void bias_add(std::span<const float> value, std::span<const float> bias, std::span<float> out) {
  const size_t channels = bias.size();
  for (size_t row = 0; row + channels <= value.size() && channels > 0; row += channels) {
    for (size_t c = 0; c < channels; ++c) out[row + c] = value[row + c] + bias[c];
  }
}

}  // namespace poet::kernels::ref
