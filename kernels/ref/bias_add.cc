#include "kernels/ref/bias_add.h"

namespace poet::kernels::ref {

void bias_add(std::span<const float> value, std::span<const float> bias, std::span<float> out) {
  const size_t channels = bias.size();
  if (channels == 0) return;  // then value is empty too
  for (size_t i = 0; i < value.size(); ++i) out[i] = value[i] + bias[i % channels];
}

}  // namespace poet::kernels::ref
