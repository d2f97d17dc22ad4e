// Reference Cast between float32, float16, int32, int64, uint8 and bool, with TensorFlow's
// (C++ static_cast) conversions made well defined where C++ leaves them undefined.
#pragma once

#include <cstdint>

#include "engine/tensor.h"

namespace poet::kernels::ref {

// IEEE binary16 <-> float32. float_to_half rounds to nearest even; too large becomes
// infinity; NaN stays NaN.
float half_to_float(uint16_t h);
uint16_t float_to_half(float f);

// True for the dtypes cast() converts between.
bool castable(DType type);

// out[i] = in[i] converted to out's dtype (same element count). Float to integer truncates
// toward zero; NaN or a value out of the integer's range gives the integer's lowest value (as
// x86's conversion instructions do), and uint8 takes the low 8 bits of the int32 conversion.
// Integers narrow by wrapping; anything to bool is "not zero"; half converts via float.
void cast(const Tensor& in, Tensor& out);

}  // namespace poet::kernels::ref
