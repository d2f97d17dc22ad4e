#include "trainer/bottleneck_cache.h"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <system_error>

#include "engine/error.h"
#include "engine/file_io.h"

namespace poet::trainer {
namespace {

// No float needs more than this many characters in its shortest form ("-1.1754944e-38");
// the margin allows spaces and longer spellings from other writers.
constexpr size_t kMaxCharsPerValue = 64;

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<float> parse_value(std::string_view token) {
  token = trim(token);
  if (token.size() > 1 && token.front() == '+' && token[1] != '-') token.remove_prefix(1);
  double value = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (token.empty() || ec != std::errc() || end != token.data() + token.size()) return {};
  float f = static_cast<float>(value);
  if (!std::isfinite(f)) return {};
  return f;
}

// A token of a file that may hold anything, for a one-line warning: control bytes as '?'.
std::string shown(std::string_view token) {
  std::string out(token);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

}  // namespace

std::string bottleneck_path(std::string_view bottleneck_dir, std::string_view dir_name,
                            std::string_view file_name, std::string_view architecture) {
  return str_cat(join_path(join_path(bottleneck_dir, dir_name), file_name), "_", architecture,
                 ".txt");
}

std::string format_bottleneck(std::span<const float> values, std::string_view what) {
  std::string text;
  text.reserve(values.size() * 12);
  char buf[kMaxCharsPerValue];
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]))
      fail(what, ": bottleneck value ", i, " is ", values[i], "; not caching it");
    if (i) text += ',';
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, values[i]);
    text.append(buf, end);
  }
  return text;
}

std::optional<std::vector<float>> parse_bottleneck(std::string_view text, size_t expected_size,
                                                   std::string* why) {
  std::vector<float> values;
  values.reserve(expected_size);
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string_view token = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    std::optional<float> value = parse_value(token);
    if (!value) {
      *why = str_cat("value ", values.size(), " ('", shown(token.substr(0, 32)),
                     "') is not a finite number");
      return {};
    }
    values.push_back(*value);
    if (values.size() > expected_size) {
      *why = str_cat("more than the expected ", expected_size, " values");
      return {};
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (values.size() != expected_size) {
    *why = str_cat(values.size(), " values, expected ", expected_size);
    return {};
  }
  return values;
}

std::optional<std::vector<float>> read_bottleneck(const std::string& path, size_t expected_size,
                                                  std::string* why) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) {
    *why = "missing";
    return {};
  }
  // Opening a pipe would wait for a writer forever, and write_bottleneck refuses to replace
  // what is not a file: recomputing could never help.
  if (!std::filesystem::is_regular_file(status))
    fail(path,
         ": not a regular file (a directory, pipe or device), so the bottleneck cache can "
         "neither read nor replace it; remove it");
  std::string text;
  try {
    text = read_file(path, (expected_size + 1) * kMaxCharsPerValue);
  } catch (const ResourceError&) {
    throw;  // the file may be good: recomputing it would fail the same way
  } catch (const Error& e) {
    *why = e.what();
    return {};
  }
  return parse_bottleneck(text, expected_size, why);
}

void write_bottleneck(const std::string& path, std::span<const float> values) {
  write_cache_file_atomic(path, format_bottleneck(values, path));
}

BottleneckCache::BottleneckCache(const Dataset& dataset, std::string bottleneck_dir,
                                 std::string architecture, size_t bottleneck_size, Compute compute,
                                 Warn warn, size_t memory_budget)
    : dataset_(dataset),
      bottleneck_dir_(std::move(bottleneck_dir)),
      architecture_(std::move(architecture)),
      bottleneck_size_(bottleneck_size),
      compute_(std::move(compute)),
      warn_(std::move(warn)),
      memory_budget_(memory_budget) {}

std::vector<float> BottleneckCache::get(const ImageClass& image_class,
                                        const std::string& file_name) {
  std::string path =
      bottleneck_path(bottleneck_dir_, image_class.dir_name, file_name, architecture_);
  if (auto it = memory_.find(path); it != memory_.end()) return it->second;
  std::error_code ec;
  bool on_disk = std::filesystem::exists(path, ec);
  std::string why;
  std::optional<std::vector<float>> values;
  if (on_disk) values = read_bottleneck(path, bottleneck_size_, &why);
  if (!values) {
    if (on_disk) warn_(str_cat(path, ": invalid bottleneck file (", why, "); recomputing"));
    std::string image = dataset_.image_path(image_class, file_name);
    values = compute_(image);
    if (values->size() != bottleneck_size_) {
      fail(image, ": the network gave ", values->size(), " bottleneck values, expected ",
           bottleneck_size_);
    }
    write_bottleneck(path, *values);
    ++created_;
  }
  size_t bytes = values->size() * sizeof(float);
  if (memory_used_ + bytes <= memory_budget_) {
    memory_used_ += bytes;
    memory_.emplace(std::move(path), *values);
  }
  return std::move(*values);
}

}  // namespace poet::trainer
