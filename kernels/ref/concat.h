// Reference concatenation, by bytes so it serves every element type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace poet::kernels::ref {

// Views the output as `outer` rows; row r is input 0's row r, then input 1's row r, and so
// on, where input i's rows are `inputs[i].size() / outer` bytes long. (Concatenating along
// axis a: outer = product of the dimensions before a.)
void concat(std::span<const std::span<const std::byte>> inputs, int64_t outer,
            std::span<std::byte> output);

}  // namespace poet::kernels::ref
