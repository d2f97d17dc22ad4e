// The bottleneck cache retrain.py keeps on disk, in its format, so caches move between poet
// and retrain.py: <bottleneck_dir>/<class folder>/<image file name>_<architecture>.txt holding
// the values as comma-separated decimals on one line. poet writes each float32 in its
// shortest round-tripping form, reads strictly (the exact count, every value finite), and
// writes atomically (without fsync: the cache can always be recomputed), so a killed run
// never leaves a truncated file to be trusted later.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "trainer/dataset.h"

namespace poet::trainer {

// os.path.join(bottleneck_dir, dir_name, file_name) + "_" + architecture + ".txt".
std::string bottleneck_path(std::string_view bottleneck_dir, std::string_view dir_name,
                            std::string_view file_name, std::string_view architecture);

// "0.25,-1.5e-05,3": shortest decimal that reads back as the same float32. Non-finite values
// are an Error naming `what`.
std::string format_bottleneck(std::span<const float> values, std::string_view what);

// The values, or nullopt with the reason in *why when the text is not exactly
// `expected_size` finite decimals separated by commas (spaces around each are allowed, as
// Python's float() allows them). Values are read as double and rounded to float32, as
// retrain.py does when it feeds them to TensorFlow.
std::optional<std::vector<float>> parse_bottleneck(std::string_view text, size_t expected_size,
                                                   std::string* why);

// nullopt when the file is missing or invalid (the reason in *why); an Error naming `path`
// when something other than a regular file is there (a directory, a pipe).
std::optional<std::vector<float>> read_bottleneck(const std::string& path, size_t expected_size,
                                                  std::string* why);
void write_bottleneck(const std::string& path, std::span<const float> values);

// Bottlenecks of a dataset's images: from memory, else from the cache file, else computed
// (and written). An unreadable cache file is recomputed with a warning naming it. Up to
// `memory_budget` bytes of values stay in memory; beyond that they are re-read from disk
// each time, as retrain.py always does.
class BottleneckCache {
 public:
  // Image path -> bottleneck values; runs the network.
  using Compute = std::function<std::vector<float>(const std::string& image_path)>;
  using Warn = std::function<void(const std::string& message)>;

  BottleneckCache(const Dataset& dataset, std::string bottleneck_dir, std::string architecture,
                  size_t bottleneck_size, Compute compute, Warn warn,
                  size_t memory_budget = size_t{1} << 30);

  std::vector<float> get(const ImageClass& image_class, const std::string& file_name);
  size_t bottleneck_size() const { return bottleneck_size_; }
  // Files computed (not found valid on disk) so far.
  size_t created() const { return created_; }

 private:
  const Dataset& dataset_;
  std::string bottleneck_dir_;
  std::string architecture_;
  size_t bottleneck_size_;
  Compute compute_;
  Warn warn_;
  size_t memory_budget_;
  size_t created_ = 0;
  size_t memory_used_ = 0;
  std::unordered_map<std::string, std::vector<float>> memory_;
};

}  // namespace poet::trainer
