// Fuzzes label files: the plain / `index:label` reader on the whole input, and the Inception
// v3 label-map pair on the input split at its first NUL byte.
#include "engine/labels.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  poet::fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes = poet::fuzz::as_bytes(data, size);
  try {
    poet::parse_labels(bytes, "fuzz_labels.txt");
  } catch (const poet::Error&) {
  }
  size_t nul = bytes.find('\0');
  if (nul == std::string_view::npos) return 0;
  try {
    poet::parse_imagenet_labels(bytes.substr(0, nul), bytes.substr(nul + 1), "fuzz_map.pbtxt",
                                "fuzz_synsets.txt");
  } catch (const poet::Error&) {
  }
  return 0;
}
