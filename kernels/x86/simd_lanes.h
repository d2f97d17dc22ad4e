// Loads and stores of a vector's first n lanes, chosen at compile time: a kernel instantiates
// its inner loops twice, for whole vectors and for a layer's last, partial one (masked).
// Written for any vector traits V from simd_<isa>.h; include only from code compiled with that
// ISA's flags (the *_<isa>.cc files and the templates they include).
#pragma once

#include "kernels/conv_shape.h"

namespace poet::kernels::x86 {

// `act` applied to every lane as the reference's activate (TensorFlow's): Relu clamps below at
// 0, Relu6 also above at 6; kNone returns r. The constant goes first: x86's max and min return
// their second operand when either is NaN (and max(0, -0.0) is the second), so a NaN lane stays
// NaN and -0.0 stays -0.0. Every SIMD epilogue clamps in this order (conv2d_nhwc_blocked.h,
// conv2d_winograd_tile.h).
template <class V>
typename V::Reg activate_vector(typename V::Reg r, Activation act) {
  if (act == Activation::kNone) return r;
  r = V::max(V::zero(), r);
  return act == Activation::kRelu6 ? V::min(V::set1(6.f), r) : r;
}

// The first n lanes with kPartial (the others read as zero), else a whole vector.
template <class V, bool kPartial>
typename V::Reg load_lanes(const float* p, int n) {
  if constexpr (kPartial) {
    return V::load_first(p, n);
  } else {
    return V::load(p);
  }
}

// The first n lanes with kPartial (memory past them untouched), else a whole vector.
template <class V, bool kPartial>
void store_lanes(float* p, typename V::Reg r, int n) {
  if constexpr (kPartial) {
    V::store_first(p, r, n);
  } else {
    V::store(p, r);
  }
}

}  // namespace poet::kernels::x86
