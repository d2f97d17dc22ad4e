// Loads and stores of a vector's first n lanes, chosen at compile time: a kernel instantiates
// its inner loops twice, for whole vectors and for a layer's last, partial one (masked).
// Written for any vector traits V from simd_<isa>.h; include only from code compiled with that
// ISA's flags (the *_<isa>.cc files and the templates they include).
#pragma once

namespace poet::kernels::x86 {

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
