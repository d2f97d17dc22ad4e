// Fuzzes the .npy reader (what `poet run --feed` reads).
#include "engine/npy.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  poet::fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    poet::Tensor t = poet::parse_npy(poet::fuzz::as_bytes(data, size), "fuzz.npy");
    // Round trip: what poet reads it can write back byte for byte (up to header padding).
    poet::Tensor again = poet::parse_npy(poet::serialize_npy(t), "round trip");
    if (again.shape() != t.shape() || again.byte_size() != t.byte_size()) __builtin_trap();
  } catch (const poet::Error&) {
  }
  return 0;
}
