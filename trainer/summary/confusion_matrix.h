// Confusion matrix of an evaluation: rows are the true class, columns the predicted class.
// Written three ways: an aligned text table for the terminal, CSV for spreadsheets, and a PNG
// heatmap whose cells are coloured by the row-normalised count (the fraction of a class's
// images predicted as each class), so a 100-class matrix is readable at a glance.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace poet::summary {

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(std::vector<std::string> labels);

  void add(size_t truth, size_t predicted, int64_t count = 1);
  int64_t at(size_t truth, size_t predicted) const;
  int64_t row_total(size_t truth) const;
  int64_t total() const;
  size_t size() const { return labels_.size(); }

  // Right-aligned counts under the labels, one row per true class, then the overall accuracy.
  std::string to_text() const;
  // Header "true\predicted,<label>,...", then "<label>,<count>,..." per true class. Labels are
  // quoted when they hold a comma, quote or line break (RFC 4180).
  std::string to_csv() const;
  // RGB, size() * cell_px pixels square. For matrices so large that the image would exceed
  // kMaxPngSide pixels, cells shrink (to 1 pixel; more classes than that is an error).
  std::string to_png(int cell_px = 24) const;

  // Both write atomically (temporary file, then rename).
  void write_csv(const std::filesystem::path& path) const;
  void write_png(const std::filesystem::path& path, int cell_px = 24) const;

  static constexpr int kMaxPngSide = 2048;

 private:
  std::vector<std::string> labels_;
  std::vector<int64_t> counts_;  // row-major [truth][predicted]
};

struct Rgb {
  uint8_t r, g, b;
  bool operator==(const Rgb&) const = default;
};
// The heatmap colour of a fraction in [0, 1]: white for 0 through to dark blue for 1.
Rgb heat_colour(double fraction);

}  // namespace poet::summary
