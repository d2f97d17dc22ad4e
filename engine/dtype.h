// Element types poet stores. The numbering is poet's own; importers map TensorFlow's DataType
// and TF.js dtypes onto it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace poet {

enum class DType : uint8_t {
  kInvalid,
  kFloat32,
  kFloat16,  // stored as IEEE binary16 bit patterns (uint16_t)
  kInt32,
  kInt64,
  kUInt8,
  kQUInt8,  // quantized uint8: a uint8 whose real value comes from a Dequantize range
  kString,  // byte strings, e.g. the JPEG bytes fed to DecodeJpeg
  kBool,
};

std::string_view dtype_name(DType type);

// Bytes per element; 0 for kString, whose elements live outside the byte buffer.
size_t dtype_size(DType type);

// The C++ element type of each dtype, used to check typed access to tensor data.
template <class T>
constexpr bool dtype_holds(DType type) {
  if constexpr (std::is_same_v<T, float>) return type == DType::kFloat32;
  if constexpr (std::is_same_v<T, uint16_t>) return type == DType::kFloat16;
  if constexpr (std::is_same_v<T, int32_t>) return type == DType::kInt32;
  if constexpr (std::is_same_v<T, int64_t>) return type == DType::kInt64;
  if constexpr (std::is_same_v<T, uint8_t>) return type == DType::kUInt8 || type == DType::kQUInt8;
  if constexpr (std::is_same_v<T, bool>) return type == DType::kBool;
  return false;
}

}  // namespace poet
