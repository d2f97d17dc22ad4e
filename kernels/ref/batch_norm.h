// Reference inference-time batch normalisation over the last (channel) axis of NHWC data:
// the oracle for folded and fused versions.
#pragma once

#include <span>

namespace poet::kernels::ref {

// For every element x of channel c:
//   y = (x - mean[c]) / sqrt(variance[c] + epsilon) * scale[c] + offset[c]
// `input` and `output` hold whole rows of `mean.size()` channels. An empty `scale` means 1
// (BatchNormWithGlobalNormalization with scale_after_normalization false).
void batch_norm(std::span<const float> input, std::span<const float> mean,
                std::span<const float> variance, std::span<const float> scale,
                std::span<const float> offset, float epsilon, std::span<float> output);

}  // namespace poet::kernels::ref
