// Loads and stores of a vector's first n lanes, chosen at compile time: a kernel instantiates
// its inner loops twice, for whole vectors and for a layer's last, partial one (masked).
// Written for any vector traits V from simd_<isa>.h; include only from code compiled with that
// ISA's flags (the *_<isa>.cc files and the templates they include).
#pragma once

#include "kernels/conv_shape.h"

namespace poet::kernels::x86 {

// `act` applied to every lane: Relu clamps below at 0 (max(r, 0) gives 0 for NaN, as the
// reference's activate does), Relu6 also above at 6; kNone returns r.
template <class V>
typename V::Reg activate_vector(typename V::Reg r, Activation act) {
  if (act == Activation::kNone) return r;
  r = V::max(r, V::zero());
  return act == Activation::kRelu6 ? V::min(r, V::set1(6.f)) : r;
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
