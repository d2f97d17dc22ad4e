// Reference zero padding, by bytes so it serves every element type whose zero is all-zero
// bytes (floats and integers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace poet::kernels::ref {

// output has dimension d of size before[d] + in_shape[d] + after[d]; element i of the input
// lands at i + before in every dimension and every other element is zero.
void pad(std::span<const std::byte> input, std::span<const int64_t> in_shape,
         std::span<const int64_t> before, std::span<const int64_t> after, size_t element_size,
         std::span<std::byte> output);

}  // namespace poet::kernels::ref
