// Class labels, indexed by a classifier's output position. Three sources:
//  - a plain file, one label per line in output order (retrain.py's output_labels.txt);
//  - `index:label` lines (the MobileNet label files: "0:background", "1:tench, Tinca tinca");
//  - Inception v3 (2015)'s pair: imagenet_2012_challenge_label_map_proto.pbtxt (output index ->
//    WordNet id) and imagenet_synset_to_human_label_map.txt (WordNet id -> words).
// Positions without a label hold "" (classify_image.py prints an empty name for them).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace poet {

// Reads a plain or `index:label` label file; the format is `index:label` when every non-empty
// line starts with digits and a colon. `what` names the source in errors.
std::vector<std::string> parse_labels(std::string_view text, std::string_view what);
std::vector<std::string> read_labels(const std::filesystem::path& path);

// The Inception v3 (2015) label pair; errors name the file and line at fault.
std::vector<std::string> parse_imagenet_labels(std::string_view label_map_pbtxt,
                                               std::string_view synsets, std::string_view what_map,
                                               std::string_view what_synsets);
std::vector<std::string> read_imagenet_labels(const std::filesystem::path& label_map_pbtxt,
                                              const std::filesystem::path& synsets);

// The label at `index`, or "" when there is none.
const std::string& label_at(const std::vector<std::string>& labels, int64_t index);

}  // namespace poet
