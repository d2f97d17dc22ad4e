#include "kernels/ref/softmax.h"

#include <cmath>

namespace poet::kernels::ref {

void softmax(std::span<const float> logits, int64_t classes, std::span<float> out) {
  if (classes <= 0) return;
  for (size_t row = 0; row < logits.size(); row += classes) {
    const float* x = &logits[row];
    float* y = &out[row];
    float max = x[0];
    for (int64_t c = 1; c < classes; ++c) max = std::fmax(max, x[c]);
    double sum = 0;
    for (int64_t c = 0; c < classes; ++c) {
      y[c] = std::exp(x[c] - max);
      sum += y[c];
    }
    const float inverse = static_cast<float>(1.0 / sum);
    for (int64_t c = 0; c < classes; ++c) y[c] *= inverse;
  }
}

}  // namespace poet::kernels::ref
