// Fuzzes JPEG decoding (images scraped from the web, fed to classify and the trainer). The
// first byte picks the decode options, so every channel count and scale ratio is reached.
#include "engine/image_codec.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  poet::fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  poet::JpegOptions options;
  constexpr int kChannels[] = {0, 1, 3, 0};
  options.channels = kChannels[data[0] & 3];
  options.ratio = 1 << ((data[0] >> 2) & 3);
  options.fast_dct = data[0] & 16;
  options.fancy_upsampling = data[0] & 32;
  try {
    poet::decode_jpeg(poet::fuzz::as_bytes(data + 1, size - 1), options, "fuzz.jpg");
  } catch (const poet::Error&) {
  }
  return 0;
}
