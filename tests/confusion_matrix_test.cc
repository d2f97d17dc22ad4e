// Confusion matrices: counts, the text table, exact CSV, and a PNG heatmap that decodes back
// with libpng to the expected size and cell colours.
#include <png.h>

#include <gtest/gtest.h>

#include "engine/error.h"
#include "engine/file_io.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"
#include "trainer/summary/confusion_matrix.h"

namespace poet::summary {
namespace {

using ::poet::testing::error_of;

// 3 classes: daisy 3 right, 1 taken for a rose; rose 2 right; tulips 1 right, 1 daisy, 2 roses.
ConfusionMatrix three_classes() {
  ConfusionMatrix m({"daisy", "rose", "tulip, red"});
  m.add(0, 0, 3);
  m.add(0, 1);
  m.add(1, 1, 2);
  m.add(2, 0);
  m.add(2, 1, 2);
  m.add(2, 2);
  return m;
}

struct DecodedPng {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> rgb;
  Rgb at(uint32_t x, uint32_t y) const {
    const uint8_t* p = &rgb[(size_t{y} * width + x) * 3];
    return {p[0], p[1], p[2]};
  }
};

DecodedPng decode(const std::string& bytes) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  EXPECT_TRUE(png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()))
      << image.message;
  image.format = PNG_FORMAT_RGB;
  DecodedPng out{image.width, image.height, std::vector<uint8_t>(PNG_IMAGE_SIZE(image))};
  EXPECT_TRUE(png_image_finish_read(&image, nullptr, out.rgb.data(), 0, nullptr)) << image.message;
  return out;
}

TEST(ConfusionMatrix, Counts) {
  ConfusionMatrix m = three_classes();
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m.at(0, 0), 3);
  EXPECT_EQ(m.at(2, 1), 2);
  EXPECT_EQ(m.at(1, 0), 0);
  EXPECT_EQ(m.row_total(2), 4);
  EXPECT_EQ(m.total(), 10);
}

TEST(ConfusionMatrix, OutOfRangeClassIsAnError) {
  ConfusionMatrix m = three_classes();
  EXPECT_EQ(error_of([&] { m.add(3, 0); }),
            "confusion matrix: class index out of range (true 3, predicted 0; there are 3 "
            "classes)");
  EXPECT_THROW(ConfusionMatrix({}), Error);
}

TEST(ConfusionMatrix, CsvIsExact) {
  EXPECT_EQ(three_classes().to_csv(),
            "true\\predicted,daisy,rose,\"tulip, red\"\n"
            "daisy,3,1,0\n"
            "rose,0,2,0\n"
            "\"tulip, red\",1,2,1\n");
  ConfusionMatrix quoted({"say \"hi\"", "b"});
  EXPECT_EQ(quoted.to_csv(),
            "true\\predicted,\"say \"\"hi\"\"\",b\n\"say \"\"hi\"\"\",0,0\nb,0,0\n");
}

TEST(ConfusionMatrix, TextTableIsAligned) {
  ConfusionMatrix m = three_classes();
  m.add(1, 1, 100);
  EXPECT_EQ(m.to_text(),
            "true\\predicted  daisy  rose  tulip, red\n"
            "daisy               3     1           0\n"
            "rose                0   102           0\n"
            "tulip, red          1     2           1\n"
            "accuracy 96.4% (106/110)\n");
}

TEST(ConfusionMatrix, CsvAndPngAreWrittenAtomically) {
  testing::TempDir dir;
  ConfusionMatrix m = three_classes();
  m.write_csv(dir / "confusion.csv");
  m.write_png(dir / "confusion.png");
  EXPECT_EQ(read_file(dir / "confusion.csv"), m.to_csv());
  EXPECT_EQ(read_file(dir / "confusion.png"), m.to_png());
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 2u) << "no temporary files left behind";
}

TEST(ConfusionMatrix, HeatColourEnds) {
  EXPECT_EQ(heat_colour(0), (Rgb{255, 255, 255}));
  EXPECT_EQ(heat_colour(1), (Rgb{8, 48, 107}));
  EXPECT_EQ(heat_colour(0.5), (Rgb{132, 152, 181}));
  EXPECT_EQ(heat_colour(-1), heat_colour(0));
  EXPECT_EQ(heat_colour(2), heat_colour(1));
}

TEST(ConfusionMatrix, PngDecodesToRowNormalisedCells) {
  ConfusionMatrix m = three_classes();
  DecodedPng png = decode(m.to_png(24));
  ASSERT_EQ(png.width, 72u);
  ASSERT_EQ(png.height, 72u);
  for (size_t t = 0; t < 3; ++t) {
    for (size_t p = 0; p < 3; ++p) {
      const Rgb want = heat_colour(static_cast<double>(m.at(t, p)) / m.row_total(t));
      // Every corner of the cell, so that cells neither shift nor bleed.
      for (uint32_t dy : {0u, 23u})
        for (uint32_t dx : {0u, 23u})
          EXPECT_EQ(png.at(24 * p + dx, 24 * t + dy), want) << "cell " << t << "," << p;
    }
  }
  // Daisy row: 3/4 and 1/4; an empty row would be all white.
  EXPECT_EQ(png.at(0, 0), heat_colour(0.75));
  EXPECT_EQ(png.at(24, 0), heat_colour(0.25));
}

TEST(ConfusionMatrix, EmptyRowIsWhite) {
  ConfusionMatrix m({"a", "b"});
  m.add(0, 1);
  DecodedPng png = decode(m.to_png(3));
  ASSERT_EQ(png.width, 6u);
  EXPECT_EQ(png.at(0, 0), heat_colour(0));
  EXPECT_EQ(png.at(3, 0), heat_colour(1));
  EXPECT_EQ(png.at(0, 3), heat_colour(0));
  EXPECT_EQ(png.at(5, 5), heat_colour(0));
}

// The width and height from the PNG's IHDR chunk (big-endian, bytes 16..23), without decoding
// millions of pixels.
std::pair<uint32_t, uint32_t> png_size(const std::string& png) {
  auto be32 = [&](size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(png.at(at + i));
    return v;
  };
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  return {be32(16), be32(20)};
}

TEST(ConfusionMatrix, LargeMatrixShrinksCells) {
  std::vector<std::string> labels;
  for (int i = 0; i < 1000; ++i) labels.push_back("c" + std::to_string(i));
  ConfusionMatrix m(labels);
  EXPECT_EQ(png_size(m.to_png(24)), std::make_pair(2000u, 2000u));  // 2 px cells: 2048 / 1000
  EXPECT_EQ(png_size(m.to_png(1)), std::make_pair(1000u, 1000u));
  EXPECT_THROW(m.to_png(0), Error);
  labels.resize(5000, "more");
  EXPECT_THROW(ConfusionMatrix(labels).to_png(), Error);
}

}  // namespace
}  // namespace poet::summary
