// Fuzzes TFRecord framing and Event parsing (TensorBoard event files).
#include "tests/fuzz/fuzz_util.h"
#include "trainer/summary/summary_writer.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  poet::fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    poet::summary::parse_event_file(std::string(poet::fuzz::as_bytes(data, size)), "fuzz.tfevents");
  } catch (const poet::Error&) {
  }
  return 0;
}
