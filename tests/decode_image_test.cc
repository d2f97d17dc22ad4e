// JPEG and PNG decoding: the codec functions and the DecodeJpeg / DecodePng ops, on the panda
// fixture and on small images written by the test; bad data must give errors, not crashes.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/file_io.h"
#include "engine/image_codec.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"
#include "tests/image_test_util.h"
#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

std::string panda_bytes() { return read_file(fixture("images/panda.jpg")); }

std::vector<uint8_t> pixels(const Tensor& t) {
  auto d = t.data<uint8_t>();
  return {d.begin(), d.end()};
}

// ----- JPEG

TEST(DecodeJpeg, PandaIs600By500Rgb) {
  POET_REQUIRE_FIXTURE("images/panda.jpg");
  Tensor image = decode_image(panda_bytes(), 3, "panda.jpg");
  EXPECT_EQ(image.dtype(), DType::kUInt8);
  EXPECT_EQ(image.shape(), (Shape{500, 600, 3}));
  // A red panda: reddish on average.
  double sum[3] = {0, 0, 0};
  auto d = image.data<uint8_t>();
  for (size_t i = 0; i < d.size(); ++i) sum[i % 3] += d[i];
  EXPECT_GT(sum[0], sum[2]);
}

TEST(DecodeJpeg, OneChannelIsTheLumaOfTheColourDecode) {
  POET_REQUIRE_FIXTURE("images/panda.jpg");
  Tensor rgb = decode_image(panda_bytes(), 3, "panda.jpg");
  Tensor gray = decode_image(panda_bytes(), 1, "panda.jpg");
  ASSERT_EQ(gray.shape(), (Shape{500, 600, 1}));
  auto c = rgb.data<uint8_t>();
  auto g = gray.data<uint8_t>();
  double total_diff = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    double luma = 0.299 * c[3 * i] + 0.587 * c[3 * i + 1] + 0.114 * c[3 * i + 2];
    total_diff += std::abs(luma - g[i]);
  }
  EXPECT_LT(total_diff / static_cast<double>(g.size()), 2.0);
}

TEST(DecodeJpeg, UniformImagesDecodeToTheirColour) {
  Tensor gray = decode_image(encode_uniform_jpeg(9, 7, {77}), 0, "gray.jpg");
  EXPECT_EQ(gray.shape(), (Shape{7, 9, 1}));  // channels 0: as in the file
  for (uint8_t v : pixels(gray)) EXPECT_NEAR(v, 77, 1);

  Tensor rgb = decode_image(encode_uniform_jpeg(5, 3, {200, 100, 30}), 0, "rgb.jpg");
  EXPECT_EQ(rgb.shape(), (Shape{3, 5, 3}));
  std::vector<uint8_t> p = pixels(rgb);
  for (size_t i = 0; i < p.size(); i += 3) {
    EXPECT_NEAR(p[i], 200, 2);
    EXPECT_NEAR(p[i + 1], 100, 2);
    EXPECT_NEAR(p[i + 2], 30, 2);
  }
  // Gray files decode to 3 equal channels when asked for RGB.
  Tensor gray3 = decode_image(encode_uniform_jpeg(4, 4, {77}), 3, "gray.jpg");
  EXPECT_EQ(gray3.shape(), (Shape{4, 4, 3}));
  for (uint8_t v : pixels(gray3)) EXPECT_NEAR(v, 77, 1);
}

TEST(DecodeJpeg, AdobeCmykBecomesRgb) {
  // libjpeg writes CMYK with an Adobe marker (inverted CMYK): r = k * c / 255.
  std::string cmyk = encode_uniform_jpeg(8, 8, {255, 128, 0, 255});
  for (int channels : {0, 3}) {
    Tensor rgb = decode_image(cmyk, channels, "cmyk.jpg");
    ASSERT_EQ(rgb.shape(), (Shape{8, 8, 3}));
    std::vector<uint8_t> p = pixels(rgb);
    EXPECT_NEAR(p[0], 255, 2);
    EXPECT_NEAR(p[1], 128, 2);
    EXPECT_NEAR(p[2], 0, 2);
  }
}

TEST(DecodeJpeg, RatioDownscalesWhileDecoding) {
  POET_REQUIRE_FIXTURE("images/panda.jpg");
  JpegOptions options;
  options.ratio = 2;
  EXPECT_EQ(decode_jpeg(panda_bytes(), options, "panda.jpg").shape(), (Shape{250, 300, 3}));
  options.ratio = 3;
  EXPECT_NE(error_of([&] { decode_jpeg(panda_bytes(), options, "panda.jpg"); }).find("ratio"),
            std::string::npos);
}

TEST(DecodeJpeg, AccurateDctDiffersSlightlyFromTheFastDefault) {
  POET_REQUIRE_FIXTURE("images/panda.jpg");
  JpegOptions fast, accurate;
  accurate.fast_dct = false;
  std::vector<uint8_t> a = pixels(decode_jpeg(panda_bytes(), fast, "panda.jpg"));
  std::vector<uint8_t> b = pixels(decode_jpeg(panda_bytes(), accurate, "panda.jpg"));
  ASSERT_EQ(a.size(), b.size());
  size_t differ = 0;
  int max_diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    differ += a[i] != b[i];
    max_diff = std::max(max_diff, std::abs(a[i] - b[i]));
  }
  EXPECT_GT(differ, 0u);  // the option reaches libjpeg
  EXPECT_LE(max_diff, 16);
}

TEST(DecodeJpeg, TruncatedAndGarbageDataAreErrors) {
  POET_REQUIRE_FIXTURE("images/panda.jpg");
  std::string panda = panda_bytes();
  for (size_t keep : {size_t{2}, size_t{3}, size_t{100}, panda.size() / 2, panda.size() - 2}) {
    std::string message = error_of([&] { decode_image(panda.substr(0, keep), 3, "cut.jpg"); });
    EXPECT_NE(message.find("cut.jpg"), std::string::npos) << keep << ": " << message;
  }
  EXPECT_NE(error_of([] { decode_image("hello, world", 3, "junk.bin"); }).find("not a JPEG or PNG"),
            std::string::npos);
  std::string fake = "\xff\xd8\xff" + std::string(200, '\x5a');
  EXPECT_NE(error_of([&] { decode_image(fake, 3, "fake.jpg"); }).find("invalid JPEG data"),
            std::string::npos);
  // Flipping bytes in the entropy-coded data must never crash: errors or a picture.
  for (size_t at = 1000; at < panda.size(); at += 997) {
    std::string damaged = panda;
    damaged[at] = static_cast<char>(~damaged[at]);
    try {
      decode_image(damaged, 3, "damaged.jpg");
    } catch (const Error&) {
    }
  }
}

TEST(DecodeJpeg, HugeDeclaredSizeIsRejectedBeforeDecoding) {
  std::string jpeg = encode_uniform_jpeg(16, 16, {1, 2, 3});
  size_t sof = jpeg.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  // SOF0: marker, length (2), precision (1), height (2), width (2).
  jpeg[sof + 5] = static_cast<char>(0xfd);  // height 0xfde8 = 65000
  jpeg[sof + 6] = static_cast<char>(0xe8);
  EXPECT_NE(error_of([&] { decode_image(jpeg, 3, "bomb.jpg"); }).find("limit"), std::string::npos);
}

TEST(DecodeJpegOp, DecodesAndHonoursAttributes) {
  POET_REQUIRE_FIXTURE("images/panda.jpg");
  Tensor contents = Tensor::from_string(panda_bytes());
  Tensor out = run_op1("DecodeJpeg", {contents}, {{"channels", int64_t{3}}});
  EXPECT_EQ(out.shape(), (Shape{500, 600, 3}));
  EXPECT_EQ(pixels(out), pixels(decode_image(panda_bytes(), 3, "panda.jpg")));
  Tensor gray = run_op1("DecodeJpeg", {contents}, {{"channels", int64_t{1}}});
  EXPECT_EQ(gray.shape(), (Shape{500, 600, 1}));
  Tensor accurate =
      run_op1("DecodeJpeg", {contents},
              {{"channels", int64_t{3}}, {"dct_method", std::string("INTEGER_ACCURATE")}});
  EXPECT_NE(pixels(accurate), pixels(out));
  Tensor fast = run_op1("DecodeJpeg", {contents},
                        {{"channels", int64_t{3}}, {"dct_method", std::string("INTEGER_FAST")}});
  EXPECT_EQ(pixels(fast), pixels(out));
}

TEST(DecodeJpegOp, RejectsBadAttributesAndData) {
  Tensor contents = Tensor::from_string(encode_uniform_jpeg(8, 8, {1, 2, 3}));
  EXPECT_NE(run_op_error("DecodeJpeg", {contents}, {{"channels", int64_t{4}}}).find("channels"),
            std::string::npos);
  EXPECT_NE(run_op_error("DecodeJpeg", {contents}, {{"dct_method", std::string("FLOAT")}})
                .find("dct_method"),
            std::string::npos);
  EXPECT_NE(run_op_error("DecodeJpeg", {contents}, {{"try_recover_truncated", true}})
                .find("try_recover_truncated"),
            std::string::npos);
  std::string message = run_op_error("DecodeJpeg", {Tensor::from_string("\xff\xd8\xff junk")});
  EXPECT_NE(message.find("DecodeJpeg"), std::string::npos) << message;  // names the node
}

// ----- PNG

TEST(DecodePng, RgbKeepsItsPixels) {
  PngSpec spec;
  spec.width = 3;
  spec.height = 2;
  std::string png =
      encode_png(spec, {{1, 2, 3, 4, 5, 6, 7, 8, 9}, {10, 11, 12, 13, 14, 15, 16, 17, 18}});
  Tensor image = decode_image(png, 0, "tiny.png");
  EXPECT_EQ(image.shape(), (Shape{2, 3, 3}));
  EXPECT_EQ(pixels(image),
            (std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}));
  // channels 4 adds opaque alpha.
  Tensor rgba = decode_png(png, 4, "tiny.png");
  EXPECT_EQ(rgba.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(pixels(rgba)[3], 255);
  EXPECT_EQ(pixels(rgba)[4], 4);
}

TEST(DecodePng, SixteenBitKeepsTheHighByte) {
  PngSpec spec;
  spec.width = 2;
  spec.color_type = PNG_COLOR_TYPE_GRAY;
  spec.bit_depth = 16;
  Tensor image = decode_png(encode_png(spec, {{0x12, 0x34, 0xfe, 0xff}}), 0, "deep.png");
  EXPECT_EQ(image.shape(), (Shape{1, 2, 1}));
  EXPECT_EQ(pixels(image), (std::vector<uint8_t>{0x12, 0xfe}));
  // Gray to RGB replicates the sample.
  Tensor rgb = decode_png(encode_png(spec, {{0x12, 0x34, 0xfe, 0xff}}), 3, "deep.png");
  EXPECT_EQ(pixels(rgb), (std::vector<uint8_t>{0x12, 0x12, 0x12, 0xfe, 0xfe, 0xfe}));
}

TEST(DecodePng, PaletteExpandsWithTransparency) {
  PngSpec spec;
  spec.width = 2;
  spec.color_type = PNG_COLOR_TYPE_PALETTE;
  spec.palette = {{10, 20, 30}, {40, 50, 60}};
  spec.palette_alpha = {128};  // entry 0 half transparent, entry 1 opaque
  std::string png = encode_png(spec, {{1, 0}});
  Tensor rgba = decode_png(png, 0, "palette.png");
  EXPECT_EQ(rgba.shape(), (Shape{1, 2, 4}));
  EXPECT_EQ(pixels(rgba), (std::vector<uint8_t>{40, 50, 60, 255, 10, 20, 30, 128}));
  Tensor rgb = decode_png(png, 3, "palette.png");
  EXPECT_EQ(pixels(rgb), (std::vector<uint8_t>{40, 50, 60, 10, 20, 30}));
}

TEST(DecodePng, RgbaToGrayDropsAlphaAndWeighsChannels) {
  PngSpec spec;
  spec.color_type = PNG_COLOR_TYPE_RGB_ALPHA;
  std::string png = encode_png(spec, {{100, 100, 100, 7}});
  Tensor gray = decode_png(png, 1, "rgba.png");
  EXPECT_EQ(gray.shape(), (Shape{1, 1, 1}));
  EXPECT_EQ(pixels(gray)[0], 100);  // equal channels stay as they are
  EXPECT_EQ(decode_png(png, 0, "rgba.png").shape(), (Shape{1, 1, 4}));
}

// TensorFlow's png_io fills a missing alpha with (1 << bit depth) - 1 of the file, which stays
// 15 for a 4-bit gray file expanded to 8 bits; poet filled 255.
TEST(DecodePng, AddedAlphaIsTensorFlowsFiller) {
  PngSpec spec;
  spec.color_type = PNG_COLOR_TYPE_GRAY;
  spec.bit_depth = 4;
  EXPECT_EQ(pixels(decode_png(encode_png(spec, {{0xF0}}), 4, "gray4.png")),
            (std::vector<uint8_t>{255, 255, 255, 15}));
  spec.bit_depth = 8;
  EXPECT_EQ(pixels(decode_png(encode_png(spec, {{7}}), 4, "gray8.png")),
            (std::vector<uint8_t>{7, 7, 7, 255}));
}

TEST(DecodePng, InterlacedMatchesPlain) {
  PngSpec spec;
  spec.width = 5;
  spec.height = 5;
  spec.color_type = PNG_COLOR_TYPE_GRAY;
  std::vector<std::vector<uint8_t>> rows(5, std::vector<uint8_t>(5));
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 5; ++x) rows[y][x] = static_cast<uint8_t>(10 * y + x);
  Tensor plain = decode_png(encode_png(spec, rows), 0, "plain.png");
  spec.interlaced = true;
  Tensor interlaced = decode_png(encode_png(spec, rows), 0, "adam7.png");
  EXPECT_EQ(pixels(plain), pixels(interlaced));
  EXPECT_EQ(pixels(plain)[12], 22);
}

// libpng's user limits refused a wide PNG as "invalid PNG data (Invalid IHDR data)".
TEST(DecodePng, ASideOverTheLimitIsNamed) {
  PngSpec spec;
  spec.width = 40000;
  spec.color_type = PNG_COLOR_TYPE_GRAY;
  testing::expect_error(
      [&] { decode_png(encode_png(spec, {std::vector<uint8_t>(40000)}), 1, "wide.png"); },
      "wide.png: image is 40000x1, more than the limit of 30000 pixels per side");
}

TEST(DecodePng, TruncatedAndCorruptDataAreErrors) {
  PngSpec spec;
  spec.width = 4;
  spec.height = 4;
  std::string png =
      encode_png(spec, std::vector<std::vector<uint8_t>>(4, std::vector<uint8_t>(12, 9)));
  for (size_t keep : {size_t{8}, size_t{20}, png.size() / 2, png.size() - 4}) {
    std::string message = error_of([&] { decode_png(png.substr(0, keep), 3, "cut.png"); });
    EXPECT_NE(message.find("cut.png"), std::string::npos) << keep << ": " << message;
  }
  std::string bad_crc = png;
  bad_crc[29] = static_cast<char>(bad_crc[29] ^ 0xff);  // inside IHDR's CRC
  EXPECT_NE(error_of([&] { decode_png(bad_crc, 3, "crc.png"); }).find("invalid PNG data"),
            std::string::npos);
  EXPECT_NE(error_of([&] { decode_png(png, 2, "x.png"); }).find("channels"), std::string::npos);
}

TEST(DecodePngOp, DecodesAndChecksAttributes) {
  PngSpec spec;
  spec.width = 2;
  std::string png = encode_png(spec, {{1, 2, 3, 4, 5, 6}});
  Tensor out = run_op1("DecodePng", {Tensor::from_string(png)}, {{"channels", int64_t{3}}});
  EXPECT_EQ(out.shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(pixels(out), (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_NE(run_op_error("DecodePng", {Tensor::from_string(png)}, {{"channels", int64_t{2}}})
                .find("channels"),
            std::string::npos);
  EXPECT_NE(run_op_error("DecodePng", {Tensor::from_string(png)}, {{"dtype", DType::kFloat32}})
                .find("dtype"),
            std::string::npos);
  EXPECT_NE(run_op_error("DecodePng", {Tensor::from_string("not a png")}).find("PNG"),
            std::string::npos);
}

// TensorFlow's DecodeJpeg and DecodePng kernels tell JPEG and PNG apart by their magic bytes,
// so either op decodes either format (classify_image.py classifies a PNG); poet's refused.
TEST(DecodeOps, EachDecodesTheOtherFormatToo) {
  PngSpec spec;
  spec.width = 2;
  const Tensor png = Tensor::from_string(encode_png(spec, {{1, 2, 3, 4, 5, 6}}));
  Tensor out = run_op1("DecodeJpeg", {png}, {{"channels", int64_t{3}}});
  EXPECT_EQ(out.shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(pixels(out), (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));

  const Tensor jpeg = Tensor::from_string(panda_bytes());
  EXPECT_EQ(pixels(run_op1("DecodePng", {jpeg}, {{"channels", int64_t{3}}})),
            pixels(run_op1("DecodeJpeg", {jpeg}, {{"channels", int64_t{3}}})));
  // A JPEG has no alpha: DecodePng's channels 4 is an error there, as in TensorFlow.
  EXPECT_NE(run_op_error("DecodePng", {jpeg}, {{"channels", int64_t{4}}}).find("channels"),
            std::string::npos);
  EXPECT_NE(
      run_op_error("DecodeJpeg", {Tensor::from_string("GIF89a")}).find("not a JPEG or PNG image"),
      std::string::npos);
}

}  // namespace
}  // namespace poet::testing
