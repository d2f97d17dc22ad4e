// Fuzzes binary (.pb) GraphDef parsing, import, and load-time shape inference and folding.
#include <google/protobuf/stubs/logging.h>

#include "importers/tensorflow/graphdef.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  poet::fuzz::init();
  // Protobuf logs every invalid UTF-8 string it parses: noise that slows the fuzzer.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    poet::Graph graph = poet::tf::import_graphdef(
        poet::tf::parse_graphdef(poet::fuzz::as_bytes(data, size), false, "fuzz.pb"));
    poet::fuzz::compile_sinks(graph);
  } catch (const poet::Error&) {
  }
  return 0;
}
