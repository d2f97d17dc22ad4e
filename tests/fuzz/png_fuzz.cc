// Fuzzes PNG decoding; the first byte picks the requested channel count.
#include "engine/image_codec.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  poet::fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  constexpr int kChannels[] = {0, 1, 3, 4};
  try {
    poet::decode_png(poet::fuzz::as_bytes(data + 1, size - 1), kChannels[data[0] & 3], "fuzz.png");
  } catch (const poet::Error&) {
  }
  return 0;
}
