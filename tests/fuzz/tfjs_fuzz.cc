// Fuzzes TF.js layers models: the input is model.json, parsed and converted layer by layer,
// then an Executable per sink as `poet inspect` builds. The weights come from a fixed shard,
// w.bin (16 Ki float32 values), written once beside model.json in a directory of the
// process's own, so that manifests naming it reach the layer converters. A normal exit
// removes the directory; a crash (abort, signal) leaves it behind as /tmp/poet_tfjs_fuzz_*.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "importers/tfjs/tfjs.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

std::filesystem::path model_json;

void remove_directory() {
  std::error_code ec;
  std::filesystem::remove_all(model_json.parent_path(), ec);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  poet::fuzz::init();
  std::string dir = (std::filesystem::temp_directory_path() / "poet_tfjs_fuzz_XXXXXX").string();
  if (!mkdtemp(dir.data())) std::abort();
  model_json = std::filesystem::path(dir) / "model.json";
  std::atexit(remove_directory);
  std::vector<float> weights(16384);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<float>(i % 17) / 16.f;
  std::ofstream(std::filesystem::path(dir) / "w.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(weights.data()),
             static_cast<std::streamsize>(weights.size() * sizeof(float)));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::ofstream(model_json, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  try {
    poet::fuzz::compile_sinks(poet::tfjs::load_model(model_json));
  } catch (const poet::Error&) {
  }
  return 0;
}
