// Reference concatenation, by bytes so it serves every element type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace poet::kernels::ref {

// An input of a concatenation: `outer` rows of bytes, each copied from byte `column` of the
// output's row on.
struct ConcatInput {
  std::span<const std::byte> bytes;
  int64_t column = 0;
};

// Views the output as `outer` rows of output.size() / outer bytes and copies row r of each
// input to its column of output row r. (Concatenating along axis a: outer = the product of the
// dimensions before a, and an input's column the bytes of the inputs before it in a row.) Bytes
// of the output no input covers are left as they are: an input written in place by its
// producer is simply not given.
void concat(std::span<const ConcatInput> inputs, int64_t outer, std::span<std::byte> output);

}  // namespace poet::kernels::ref
