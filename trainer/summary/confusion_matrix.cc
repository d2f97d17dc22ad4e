#include "trainer/summary/confusion_matrix.h"

#include <png.h>

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "engine/error.h"
#include "engine/file_io.h"

namespace poet::summary {
namespace {

constexpr Rgb kCold{255, 255, 255};
constexpr Rgb kHot{8, 48, 107};
constexpr std::string_view kCorner = "true\\predicted";

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

uint8_t mix(uint8_t from, uint8_t to, double t) {
  return static_cast<uint8_t>(from + (static_cast<double>(to) - from) * t + 0.5);
}

}  // namespace

Rgb heat_colour(double fraction) {
  double t = std::clamp(fraction, 0.0, 1.0);
  return {mix(kCold.r, kHot.r, t), mix(kCold.g, kHot.g, t), mix(kCold.b, kHot.b, t)};
}

ConfusionMatrix::ConfusionMatrix(std::vector<std::string> labels)
    : labels_(std::move(labels)), counts_(labels_.size() * labels_.size(), 0) {
  if (labels_.empty()) fail("confusion matrix: no class labels");
}

void ConfusionMatrix::add(size_t truth, size_t predicted, int64_t count) {
  if (truth >= size() || predicted >= size())
    fail("confusion matrix: class index out of range (true ", truth, ", predicted ", predicted,
         "; there are ", size(), " classes)");
  counts_[truth * size() + predicted] += count;
}

int64_t ConfusionMatrix::at(size_t truth, size_t predicted) const {
  return counts_.at(truth * size() + predicted);
}

int64_t ConfusionMatrix::row_total(size_t truth) const {
  int64_t sum = 0;
  for (size_t p = 0; p < size(); ++p) sum += at(truth, p);
  return sum;
}

int64_t ConfusionMatrix::total() const {
  int64_t sum = 0;
  for (int64_t c : counts_) sum += c;
  return sum;
}

std::string ConfusionMatrix::to_text() const {
  size_t label_width = kCorner.size();
  for (const auto& l : labels_) label_width = std::max(label_width, l.size());
  std::vector<size_t> widths(size());
  for (size_t p = 0; p < size(); ++p) {
    widths[p] = labels_[p].size();
    for (size_t t = 0; t < size(); ++t)
      widths[p] = std::max(widths[p], std::to_string(at(t, p)).size());
  }
  std::ostringstream out;
  out << std::left << std::setw(static_cast<int>(label_width)) << kCorner << std::right;
  for (size_t p = 0; p < size(); ++p)
    out << "  " << std::setw(static_cast<int>(widths[p])) << labels_[p];
  out << "\n";
  int64_t correct = 0;
  for (size_t t = 0; t < size(); ++t) {
    out << std::left << std::setw(static_cast<int>(label_width)) << labels_[t] << std::right;
    for (size_t p = 0; p < size(); ++p)
      out << "  " << std::setw(static_cast<int>(widths[p])) << at(t, p);
    out << "\n";
    correct += at(t, t);
  }
  const int64_t n = total();
  out << "accuracy " << std::fixed << std::setprecision(1)
      << (n > 0 ? 100.0 * static_cast<double>(correct) / static_cast<double>(n) : 0.0) << "% ("
      << correct << "/" << n << ")\n";
  return out.str();
}

std::string ConfusionMatrix::to_csv() const {
  std::string out(kCorner);
  for (const auto& l : labels_) out += "," + csv_field(l);
  out += "\n";
  for (size_t t = 0; t < size(); ++t) {
    out += csv_field(labels_[t]);
    for (size_t p = 0; p < size(); ++p) out += "," + std::to_string(at(t, p));
    out += "\n";
  }
  return out;
}

std::string ConfusionMatrix::to_png(int cell_px) const {
  if (cell_px < 1) fail("confusion matrix PNG: cell size must be at least 1 pixel, got ", cell_px);
  if (size() > static_cast<size_t>(kMaxPngSide))
    fail("confusion matrix PNG: ", size(), " classes do not fit in ", kMaxPngSide,
         " pixels; use the CSV instead");
  const size_t cell = std::min<size_t>(cell_px, kMaxPngSide / size());
  const size_t side = size() * cell;
  std::vector<uint8_t> pixels(side * side * 3);
  for (size_t t = 0; t < size(); ++t) {
    const int64_t row = row_total(t);
    for (size_t p = 0; p < size(); ++p) {
      const double fraction = row > 0 ? static_cast<double>(at(t, p)) / row : 0.0;
      const Rgb c = heat_colour(fraction);
      for (size_t y = t * cell; y < (t + 1) * cell; ++y) {
        for (size_t x = p * cell; x < (p + 1) * cell; ++x) {
          uint8_t* px = &pixels[(y * side + x) * 3];
          px[0] = c.r;
          px[1] = c.g;
          px[2] = c.b;
        }
      }
    }
  }

  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(side);
  image.height = static_cast<png_uint_32>(side);
  image.format = PNG_FORMAT_RGB;
  // Encoded once into a buffer of libpng's worst-case size, then trimmed.
  png_alloc_size_t bytes = PNG_IMAGE_PNG_SIZE_MAX(image);
  std::string png(bytes, '\0');
  if (!png_image_write_to_memory(&image, png.data(), &bytes, 0, pixels.data(), 0, nullptr))
    fail("confusion matrix PNG: libpng: ", image.message);
  png.resize(bytes);
  return png;
}

void ConfusionMatrix::write_csv(const std::filesystem::path& path) const {
  write_file_atomic(path, to_csv());
}

void ConfusionMatrix::write_png(const std::filesystem::path& path, int cell_px) const {
  write_file_atomic(path, to_png(cell_px));
}

}  // namespace poet::summary
