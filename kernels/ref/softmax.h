// Reference Softmax over the last axis.
#pragma once

#include <cstdint>
#include <span>

namespace poet::kernels::ref {

// For each row of `classes` logits: out = exp(x - max) * (1 / sum(exp(x - max))).
// Subtracting the row's maximum keeps exp from overflowing; multiplying by the reciprocal
// of the sum is how TensorFlow's kernel normalises. The sum is accumulated in double.
void softmax(std::span<const float> logits, int64_t classes, std::span<float> out);

}  // namespace poet::kernels::ref
