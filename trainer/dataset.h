// The image folders retrain.py trains on: one sub-folder per class, and each image's stable
// assignment to training, testing or validation by a SHA-1 of its path, so that adding images
// never moves old ones between the sets. The rules (documented in
// ../shared/docs/retrain-reference.md) are retrain.py's, checked against its source:
//  - the hashed string is the whole path as retrain.py builds it, os.path.join(image_dir,
//    folder, file name), with image_dir spelled exactly as the user gave it (so "photos" and
//    "./photos" split differently, in retrain.py too), cut from the first "_nohash_" onwards;
//  - percentage = (SHA-1 as an integer mod 2^27) * 100 / (2^27 - 1);
//  - below validation_percentage: validation; below validation + testing: testing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace poet::trainer {

enum class Split { kTraining, kTesting, kValidation };
std::string_view split_name(Split split);  // "training", "testing", "validation"

struct ImageClass {
  std::string label;     // "granny smith"
  std::string dir_name;  // "Granny_Smith"
  // Base file names, in the order retrain.py lists them: by extension (jpg, jpeg, JPG,
  // JPEG), then by name.
  std::vector<std::string> training, testing, validation;

  std::vector<std::string>& images(Split split);
  const std::vector<std::string>& images(Split split) const;
};

struct Dataset {
  std::string image_dir;            // as given
  std::vector<ImageClass> classes;  // sorted by folder name: the output order
  std::vector<std::string> warnings;

  // os.path.join(image_dir, dir_name, file name), as retrain.py's get_image_path.
  std::string image_path(const ImageClass& image_class, std::string_view file_name) const;
  // The labels file: one label per line, in output order.
  std::string labels_text() const;
};

// Folder name -> label: lower-cased, each run of characters outside [a-z0-9] made one space.
std::string label_from_folder(std::string_view dir_name);

// os.path.join for two POSIX path strings.
std::string join_path(std::string_view a, std::string_view b);

// The string retrain.py hashes for `file_path`: everything from the first "_nohash_" is
// dropped (re.sub(r'_nohash_.*$', '', path)).
std::string hash_name(std::string_view file_path);

// (SHA-1(hash_name) mod 2^27) * 100 / (2^27 - 1), in [0, 100.0000008].
double split_percentage(std::string_view hash_name);

Split assign_split(std::string_view file_path, int testing_percentage, int validation_percentage);

// Scans image_dir. Empty folders and folders with fewer than 20 images add a warning; fewer
// than two classes, a missing directory, invalid percentages or two folders with the same
// label are Errors naming image_dir.
Dataset scan_image_dir(const std::string& image_dir, int testing_percentage,
                       int validation_percentage);

}  // namespace poet::trainer
