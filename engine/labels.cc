#include "engine/labels.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "engine/error.h"
#include "engine/file_io.h"

namespace poet {
namespace {

// Label files are small; this bounds what a wrong path (a model file, say) can cost.
constexpr size_t kMaxLabelFileBytes = size_t{64} << 20;
// Indices are output positions of a classifier (ImageNet-21k has 21843): far below this. The
// bound also caps what a one-line file can allocate: 10^6 empty labels are 32 MB.
constexpr int64_t kMaxLabelIndex = 1'000'000;

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Parses the leading digits of `s` as a non-negative index; returns the count of digits used
// (0 when there are none or the value is out of range).
size_t parse_index(std::string_view s, int64_t& value) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || value < 0 || value > kMaxLabelIndex || s.empty() || s[0] == '-')
    return 0;
  return static_cast<size_t>(end - s.data());
}

bool is_indexed_line(std::string_view line) {
  int64_t index = 0;
  size_t digits = parse_index(line, index);
  return digits > 0 && digits < line.size() && line[digits] == ':';
}

void put(std::vector<std::string>& labels, int64_t index, std::string label) {
  if (static_cast<size_t>(index) >= labels.size()) labels.resize(index + 1);
  labels[index] = std::move(label);
}

}  // namespace

std::vector<std::string> parse_labels(std::string_view text, std::string_view what) {
  std::vector<std::string_view> lines = split_lines(text);
  bool indexed = false;
  for (std::string_view line : lines) {
    if (trim(line).empty()) continue;
    indexed = is_indexed_line(line);
    if (!indexed) break;
  }
  std::vector<std::string> labels;
  if (!indexed) {
    // label_image.py keeps every line (right-stripped), blank ones included, in output order.
    for (std::string_view line : lines) {
      while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
      labels.emplace_back(line);
    }
    return labels;
  }
  std::vector<char> seen;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (trim(lines[i]).empty()) continue;
    int64_t index = 0;
    size_t digits = parse_index(lines[i], index);
    if (static_cast<size_t>(index) < seen.size() && seen[index])
      fail(what, ":", i + 1, ": index ", index, " is given twice");
    if (static_cast<size_t>(index) >= seen.size()) seen.resize(index + 1);
    seen[index] = 1;
    put(labels, index, std::string(trim(lines[i].substr(digits + 1))));
  }
  return labels;
}

std::vector<std::string> read_labels(const std::filesystem::path& path) {
  return parse_labels(read_file(path, kMaxLabelFileBytes), path.string());
}

std::vector<std::string> parse_imagenet_labels(std::string_view label_map_pbtxt,
                                               std::string_view synsets, std::string_view what_map,
                                               std::string_view what_synsets) {
  std::map<std::string, std::string, std::less<>> words;  // WordNet id -> human label
  std::vector<std::string_view> synset_lines = split_lines(synsets);
  for (size_t i = 0; i < synset_lines.size(); ++i) {
    std::string_view line = synset_lines[i];
    if (trim(line).empty()) continue;
    size_t tab = line.find('\t');
    if (tab == std::string_view::npos)
      fail(what_synsets, ":", i + 1, ": expected 'nXXXXXXXX<TAB>label'");
    words[std::string(line.substr(0, tab))] = std::string(trim(line.substr(tab + 1)));
  }

  // The label map is a text proto of `entry { target_class: N target_class_string: "nX" }`.
  // Fields are read in order: each target_class_string completes the entry opened by the
  // target_class before it.
  std::vector<std::string> labels;
  std::vector<std::string_view> map_lines = split_lines(label_map_pbtxt);
  int64_t pending = -1;
  for (size_t i = 0; i < map_lines.size(); ++i) {
    std::string_view line = trim(map_lines[i]);
    auto field = [&](std::string_view name) {
      return line.substr(0, name.size()) == name ? trim(line.substr(name.size()))
                                                 : std::string_view();
    };
    if (std::string_view v = field("target_class:"); !v.empty()) {
      if (parse_index(v, pending) != v.size())
        fail(what_map, ":", i + 1, ": target_class must be a non-negative integer, got '", v, "'");
    } else if (std::string_view s = field("target_class_string:"); !s.empty()) {
      if (s.size() < 2 || s.front() != '"' || s.back() != '"')
        fail(what_map, ":", i + 1, ": target_class_string must be a quoted string");
      if (pending < 0) fail(what_map, ":", i + 1, ": target_class_string without a target_class");
      const std::string_view id = s.substr(1, s.size() - 2);
      auto it = words.find(id);
      // classify_image.py stops there ("Failed to locate", then a KeyError).
      if (it == words.end())
        fail(what_map, ":", i + 1, ": ", id, " is not in ", what_synsets,
             " (synsets for another map?)");
      put(labels, pending, it->second);
      pending = -1;
    }
  }
  if (labels.empty()) fail(what_map, ": no 'entry { target_class: N target_class_string: ... }'");
  if (std::ranges::count(label_map_pbtxt, '{') != std::ranges::count(label_map_pbtxt, '}'))
    fail(what_map, ": its braces do not balance (a file cut short?)");
  return labels;
}

std::vector<std::string> read_imagenet_labels(const std::filesystem::path& label_map_pbtxt,
                                              const std::filesystem::path& synsets) {
  return parse_imagenet_labels(read_file(label_map_pbtxt, kMaxLabelFileBytes),
                               read_file(synsets, kMaxLabelFileBytes), label_map_pbtxt.string(),
                               synsets.string());
}

const std::string& label_at(const std::vector<std::string>& labels, int64_t index) {
  static const std::string kNone;
  return index >= 0 && static_cast<size_t>(index) < labels.size() ? labels[index] : kNone;
}

}  // namespace poet
