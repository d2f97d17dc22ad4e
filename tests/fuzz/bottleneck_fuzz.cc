// Fuzzes the bottleneck cache parser (text files a crashed or older run may have left). The
// first byte picks the expected value count; whatever parses must format and parse back to
// the same floats.
#include "tests/fuzz/fuzz_util.h"
#include "trainer/bottleneck_cache.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  poet::fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t expected = data[0] == 0 ? 2048 : data[0];
  std::string why;
  try {
    auto values =
        poet::trainer::parse_bottleneck(poet::fuzz::as_bytes(data + 1, size - 1), expected, &why);
    if (!values) return 0;
    if (values->size() != expected) __builtin_trap();
    auto again = poet::trainer::parse_bottleneck(poet::trainer::format_bottleneck(*values, "fuzz"),
                                                 expected, &why);
    if (!again || *again != *values) __builtin_trap();
  } catch (const poet::Error&) {
  }
  return 0;
}
