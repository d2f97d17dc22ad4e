// Reference BiasAdd: adds a per-channel bias along the last axis (NHWC).
#pragma once

#include <span>

namespace poet::kernels::ref {

// out[i] = value[i] + bias[i % bias.size()]; value holds whole rows of bias.size() channels.
void bias_add(std::span<const float> value, std::span<const float> bias, std::span<float> out);

}  // namespace poet::kernels::ref
