// NumPy .npy files (format versions 1-3), the exchange format of `poet run` and of the
// reference outputs in the fixtures. Little-endian C-order arrays of float32, float16,
// int32, int64, uint8 and bool.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "engine/tensor.h"

namespace poet {

// Parses .npy bytes; `what` names the source in errors.
Tensor parse_npy(std::string_view bytes, std::string_view what);
Tensor read_npy(const std::filesystem::path& path);

std::string serialize_npy(const Tensor& tensor);
void write_npy(const std::filesystem::path& path, const Tensor& tensor);  // atomic

}  // namespace poet
