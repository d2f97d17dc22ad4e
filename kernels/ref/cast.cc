#include "kernels/ref/cast.h"

#include <bit>
#include <cmath>
#include <limits>
#include <type_traits>

namespace poet::kernels::ref {
namespace {

// float16 elements are stored as their uint16_t bit patterns; this tag keeps them apart from
// plain integers in the conversions below.
struct Half {
  uint16_t bits;
};

template <class Int>
Int float_to_int(float x) {
  if constexpr (std::is_same_v<Int, uint8_t>) {
    return static_cast<uint8_t>(float_to_int<int32_t>(x));
  } else {
    // [-2^(bits-1), 2^(bits-1)) are exact floats, so these comparisons are exact.
    constexpr float limit = static_cast<float>(std::numeric_limits<Int>::max());
    if (!(x >= -limit && x < limit)) return std::numeric_limits<Int>::min();
    return static_cast<Int>(x);
  }
}

template <class To, class From>
To convert(From x) {
  if constexpr (std::is_same_v<From, Half>) {
    return convert<To>(half_to_float(x.bits));
  } else if constexpr (std::is_same_v<To, Half>) {
    return Half{float_to_half(convert<float>(x))};
  } else if constexpr (std::is_same_v<To, bool>) {
    return x != From{0};
  } else if constexpr (std::is_same_v<From, float> && std::is_integral_v<To>) {
    return float_to_int<To>(x);
  } else {
    return static_cast<To>(x);  // integer narrowing wraps (C++20)
  }
}

// Calls f with a value of the C++ type that holds one element of `type`.
template <class F>
void with_element_type(DType type, F&& f) {
  switch (type) {
    case DType::kFloat32:
      return f(float{});
    case DType::kFloat16:
      return f(Half{});
    case DType::kInt32:
      return f(int32_t{});
    case DType::kInt64:
      return f(int64_t{});
    case DType::kUInt8:
      return f(uint8_t{});
    case DType::kBool:
      return f(bool{});
    default:
      fail("cast: ", dtype_name(type), " is not supported");
  }
}

// Tensors store a half as its bits; load/store move between that and the Half tag.
template <class T>
using Stored = std::conditional_t<std::is_same_v<T, Half>, uint16_t, T>;

template <class T>
T load(Stored<T> v) {
  if constexpr (std::is_same_v<T, Half>) {
    return Half{v};
  } else {
    return v;
  }
}

template <class T>
Stored<T> store(T v) {
  if constexpr (std::is_same_v<T, Half>) {
    return v.bits;
  } else {
    return v;
  }
}

}  // namespace

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1f;
  const uint32_t mantissa = h & 0x3ff;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exact in float
    float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000 | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
}

uint16_t float_to_half(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  uint32_t magnitude = bits & 0x7fffffff;
  if (magnitude > 0x7f800000) return sign | 0x7e00;  // NaN (quiet)
  // 65520 and above round to infinity (65504 is the largest half).
  if (magnitude >= 0x477ff000) return sign | 0x7c00;
  if (magnitude < 0x38800000) {
    // Below 2^-14, the smallest normal half: a subnormal in units of 2^-24. Scaling by 2^24
    // is exact, and nearbyint rounds to nearest even in the default rounding mode.
    float units = std::ldexp(std::bit_cast<float>(magnitude), 24);
    return sign | static_cast<uint16_t>(std::nearbyint(units));
  }
  // Re-bias the exponent from 127 to 15 and round the mantissa from 23 to 10 bits, to nearest
  // even; a carry out of the mantissa correctly bumps the exponent.
  magnitude -= (127 - 15) << 23;
  magnitude += 0xfff + ((magnitude >> 13) & 1);
  return sign | static_cast<uint16_t>(magnitude >> 13);
}

bool castable(DType type) {
  switch (type) {
    case DType::kFloat32:
    case DType::kFloat16:
    case DType::kInt32:
    case DType::kInt64:
    case DType::kUInt8:
    case DType::kBool:
      return true;
    default:
      return false;
  }
}

void cast(const Tensor& in, Tensor& out) {
  if (in.num_elements() != out.num_elements())
    fail("cast: ", in.num_elements(), " elements into ", out.num_elements());
  with_element_type(in.dtype(), [&]<class From>(From) {
    with_element_type(out.dtype(), [&]<class To>(To) {
      auto src = in.data<Stored<From>>();
      auto dst = out.data<Stored<To>>();
      for (size_t i = 0; i < src.size(); ++i) dst[i] = store(convert<To>(load<From>(src[i])));
    });
  });
}

}  // namespace poet::kernels::ref
