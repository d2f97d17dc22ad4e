#include "kernels/ref/batch_norm.h"

#include <cmath>

namespace poet::kernels::ref {

void batch_norm(std::span<const float> input, std::span<const float> mean,
                std::span<const float> variance, std::span<const float> scale,
                std::span<const float> offset, float epsilon, std::span<float> output) {
  const size_t channels = mean.size();
  for (size_t i = 0; i < input.size(); ++i) {
    size_t c = i % channels;
    float normalized = (input[i] - mean[c]) / std::sqrt(variance[c] + epsilon);
    output[i] = normalized * (scale.empty() ? 1.f : scale[c]) + offset[c];
  }
}

}  // namespace poet::kernels::ref
