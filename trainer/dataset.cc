#include "trainer/dataset.h"

#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <map>
#include <system_error>

#include "engine/error.h"

namespace poet::trainer {
namespace {

// retrain.py's MAX_NUM_IMAGES_PER_CLASS: the hash is taken modulo this + 1.
constexpr uint32_t kMaxImagesPerClass = (uint32_t{1} << 27) - 1;
constexpr std::array<std::string_view, 4> kExtensions = {"jpg", "jpeg", "JPG", "JPEG"};
constexpr size_t kFewImages = 20;

bool has_extension(std::string_view name, std::string_view ext) {
  // Python's glob does not match hidden files with '*'.
  return name.size() > ext.size() + 1 && name.front() != '.' && name.ends_with(ext) &&
         name[name.size() - ext.size() - 1] == '.';
}

bool is_image_name(std::string_view name) {
  return std::ranges::any_of(kExtensions,
                             [&](std::string_view ext) { return has_extension(name, ext); });
}

// Regular files of `dir` per extension, each group sorted by name. TensorFlow's gfile.Glob
// promises no order; sorting makes poet's deterministic. An image name on a link to nothing,
// a folder, a pipe or a device is an error, as a corrupt image is (retrain.py's glob takes it,
// and its read stops, or waits forever on a pipe): leaving it out would change the split.
std::vector<std::string> list_images(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::error_code file_ec;
    std::string name = entry.path().filename().string();
    if (entry.is_regular_file(file_ec)) {
      names.push_back(std::move(name));
    } else if (is_image_name(name)) {
      fail(entry.path().string(),
           entry.exists(file_ec) ? ": not a regular file (a folder, pipe, device or socket)"
                                 : ": a link to nothing",
           "; remove or replace it in --image_dir");
    }
  }
  if (ec) fail(dir.string(), ": cannot list the folder (", ec.message(), ")");
  std::sort(names.begin(), names.end());
  std::vector<std::string> images;
  for (std::string_view ext : kExtensions) {
    for (const std::string& name : names)
      if (has_extension(name, ext)) images.push_back(name);
  }
  return images;
}

std::vector<std::string> sorted_subfolders(const std::string& image_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(image_dir, ec)) {
    fail("--image_dir ", image_dir, ": ",
         std::filesystem::exists(image_dir, ec) ? "not a directory" : "no such directory");
  }
  std::vector<std::string> dirs;
  for (const auto& entry : std::filesystem::directory_iterator(image_dir, ec)) {
    std::error_code dir_ec;
    if (entry.is_directory(dir_ec)) dirs.push_back(entry.path().filename().string());
  }
  if (ec) fail("--image_dir ", image_dir, ": cannot list the directory (", ec.message(), ")");
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

void check_percentages(int testing_percentage, int validation_percentage) {
  if (testing_percentage < 0 || testing_percentage > 100)
    fail("--testing_percentage ", testing_percentage, ": must be between 0 and 100");
  if (validation_percentage < 0 || validation_percentage > 100)
    fail("--validation_percentage ", validation_percentage, ": must be between 0 and 100");
  if (testing_percentage + validation_percentage > 100)
    fail("--testing_percentage ", testing_percentage, " plus --validation_percentage ",
         validation_percentage, " is more than 100");
}

}  // namespace

std::string_view split_name(Split split) {
  switch (split) {
    case Split::kTraining:
      return "training";
    case Split::kTesting:
      return "testing";
    case Split::kValidation:
      return "validation";
  }
  return "?";
}

std::vector<std::string>& ImageClass::images(Split split) {
  switch (split) {
    case Split::kTesting:
      return testing;
    case Split::kValidation:
      return validation;
    case Split::kTraining:
      break;
  }
  return training;
}

const std::vector<std::string>& ImageClass::images(Split split) const {
  return const_cast<ImageClass*>(this)->images(split);
}

std::string Dataset::image_path(const ImageClass& image_class, std::string_view file_name) const {
  return join_path(join_path(image_dir, image_class.dir_name), file_name);
}

std::string Dataset::labels_text() const {
  std::string text;
  for (const ImageClass& c : classes) text += c.label + "\n";
  return text;
}

std::string label_from_folder(std::string_view dir_name) {
  // Python's str.lower() turns exactly two non-ASCII characters into ASCII letters: the
  // Kelvin sign into 'k' and the dotted capital I into 'i' plus a combining dot. Every other
  // non-ASCII character stays outside [a-z0-9].
  constexpr std::string_view kKelvin = "\xE2\x84\xAA", kDottedI = "\xC4\xB0";
  std::string label;
  bool in_run = false;
  auto put = [&](char c) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (keep) {
      label += c;
    } else if (!in_run) {
      label += ' ';
    }
    in_run = !keep;
  };
  for (size_t i = 0; i < dir_name.size(); ++i) {
    std::string_view rest = dir_name.substr(i);
    if (rest.starts_with(kKelvin)) {
      put('k');
      i += kKelvin.size() - 1;
    } else if (rest.starts_with(kDottedI)) {
      put('i');
      put(' ');
      i += kDottedI.size() - 1;
    } else {
      char c = dir_name[i];
      put(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    }
  }
  return label;
}

std::string join_path(std::string_view a, std::string_view b) {
  if (!b.empty() && b.front() == '/') return std::string(b);
  std::string joined(a);
  if (!joined.empty() && joined.back() != '/') joined += '/';
  joined += b;
  return joined;
}

std::string hash_name(std::string_view path) {
  // re.sub(r'_nohash_.*$', '', path): '.' stops at a newline and '$' also matches before a
  // final newline, so a match needs no newline after "_nohash_" except possibly the last char.
  constexpr std::string_view kMarker = "_nohash_";
  for (size_t p = path.find(kMarker); p != std::string_view::npos; p = path.find(kMarker, p + 1)) {
    size_t newline = path.find('\n', p + kMarker.size());
    if (newline == std::string_view::npos) return std::string(path.substr(0, p));
    if (newline == path.size() - 1) return std::string(path.substr(0, p)) + "\n";
  }
  return std::string(path);
}

double split_percentage(std::string_view hash_name) {
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(hash_name.data()), hash_name.size(), digest.data());
  // The digest read as a big-endian integer modulo 2^27 is its low 27 bits.
  uint32_t low = (uint32_t{digest[16]} << 24) | (uint32_t{digest[17]} << 16) |
                 (uint32_t{digest[18]} << 8) | uint32_t{digest[19]};
  uint32_t bucket = low & kMaxImagesPerClass;
  return static_cast<double>(bucket) * (100.0 / kMaxImagesPerClass);
}

Split assign_split(std::string_view file_path, int testing_percentage, int validation_percentage) {
  double percentage = split_percentage(hash_name(file_path));
  if (percentage < validation_percentage) return Split::kValidation;
  if (percentage < testing_percentage + validation_percentage) return Split::kTesting;
  return Split::kTraining;
}

Dataset scan_image_dir(const std::string& image_dir, int testing_percentage,
                       int validation_percentage) {
  check_percentages(testing_percentage, validation_percentage);
  Dataset dataset;
  dataset.image_dir = image_dir;
  std::map<std::string, std::string> folder_of_label;
  for (const std::string& dir_name : sorted_subfolders(image_dir)) {
    std::string folder = join_path(image_dir, dir_name);
    std::vector<std::string> files = list_images(folder);
    if (files.empty()) {
      dataset.warnings.push_back(
          str_cat(folder, ": no images (*.jpg, *.jpeg, *.JPG, *.JPEG); folder skipped"));
      continue;
    }
    if (files.size() < kFewImages) {
      dataset.warnings.push_back(str_cat(folder, ": only ", files.size(),
                                         " images, fewer than 20, which may cause issues"));
    }
    ImageClass image_class;
    image_class.label = label_from_folder(dir_name);
    image_class.dir_name = dir_name;
    // retrain.py keys its classes by label, so a second folder with the same label silently
    // replaced the first; poet refuses instead.
    auto [it, fresh] = folder_of_label.emplace(image_class.label, dir_name);
    if (!fresh) {
      fail("--image_dir ", image_dir, ": folders '", it->second, "' and '", dir_name,
           "' both give the label '", image_class.label, "'");
    }
    for (std::string& file : files) {
      Split split =
          assign_split(join_path(folder, file), testing_percentage, validation_percentage);
      image_class.images(split).push_back(std::move(file));
    }
    dataset.classes.push_back(std::move(image_class));
  }
  if (dataset.classes.empty())
    fail("--image_dir ", image_dir, ": no folders of images found (one sub-folder per class)");
  if (dataset.classes.size() == 1) {
    fail("--image_dir ", image_dir, ": only one folder of images found ('",
         dataset.classes[0].dir_name, "'); classification needs at least two classes");
  }
  return dataset;
}

}  // namespace poet::trainer
