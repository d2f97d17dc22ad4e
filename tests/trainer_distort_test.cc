// retrain.py's random distortions: each step checked on small images whose pixels encode
// their position, so flips, crop windows and brightness factors can be read back exactly.
#include <gtest/gtest.h>

#include "engine/error.h"
#include "trainer/distort.h"

namespace poet::trainer {
namespace {

// uint8 [h, w, 3]: channel 0 = x, channel 1 = y, channel 2 = 100.
Tensor coordinate_image(int64_t h, int64_t w) {
  Tensor t(DType::kUInt8, {h, w, 3});
  std::span<uint8_t> d = t.data<uint8_t>();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      uint8_t* p = &d[static_cast<size_t>((y * w + x) * 3)];
      p[0] = static_cast<uint8_t>(x);
      p[1] = static_cast<uint8_t>(y);
      p[2] = 100;
    }
  return t;
}

float at(const Tensor& t, int64_t y, int64_t x, int c) {
  return t.data<float>()[static_cast<size_t>((y * t.dim(2) + x) * 3 + c)];
}

const ImageInputSpec kIdentity{.height = 4, .width = 5, .mean = 0, .std = 1};

// One image distorted as `poet retrain` does it: draw, then apply; `drawn` gets the draw.
Tensor distort_image(const Tensor& image, const DistortOptions& options, const ImageInputSpec& spec,
                     Random& random, Distortion* drawn = nullptr) {
  const Distortion d = draw_distortion(options, spec, random);
  if (drawn) *drawn = d;
  return apply_distortion(image, d, spec);
}

TEST(Distort, NoDistortionIsPlainResize) {
  Random random(1);
  Distortion d;
  Tensor out = distort_image(coordinate_image(4, 5), {}, kIdentity, random, &d);
  EXPECT_EQ(d.precrop_height, 4);
  EXPECT_EQ(d.precrop_width, 5);
  EXPECT_EQ(d.crop_y, 0);
  EXPECT_EQ(d.crop_x, 0);
  EXPECT_FALSE(d.flipped);
  EXPECT_EQ(d.brightness, 1.0f);
  for (int64_t y = 0; y < 4; ++y)
    for (int64_t x = 0; x < 5; ++x) {
      EXPECT_EQ(at(out, y, x, 0), x);
      EXPECT_EQ(at(out, y, x, 1), y);
    }
}

TEST(Distort, FlipMirrorsExactlyAndHappensAboutHalfTheTime) {
  Tensor image = coordinate_image(4, 5);
  Distortion d{.precrop_height = 4, .precrop_width = 5, .flipped = true};
  Tensor out = apply_distortion(image, d, kIdentity);
  for (int64_t y = 0; y < 4; ++y)
    for (int64_t x = 0; x < 5; ++x) {
      EXPECT_EQ(at(out, y, x, 0), 4 - x);
      EXPECT_EQ(at(out, y, x, 1), y);
    }
  Random random(7);
  int flips = 0;
  for (int i = 0; i < 1000; ++i)
    flips += draw_distortion({.flip_left_right = true}, kIdentity, random).flipped;
  EXPECT_GT(flips, 430);
  EXPECT_LT(flips, 570);
}

TEST(Distort, CropWindowStaysInsideTheScaledImage) {
  // --random_crop 50: scale 1.5, so 128 -> 192; --random_scale 20 adds up to 1.2x more.
  ImageInputSpec spec{.height = 128, .width = 128, .mean = 0, .std = 1};
  Random random(3);
  bool moved = false;
  int64_t biggest = 0;
  for (int i = 0; i < 500; ++i) {
    Distortion d = draw_distortion({.random_crop = 50, .random_scale = 20}, spec, random);
    EXPECT_GE(d.precrop_height, 192);
    EXPECT_LE(d.precrop_height, 230);  // int(1.5 * 1.2 * 128) = 230
    EXPECT_EQ(d.precrop_height, d.precrop_width);
    EXPECT_GE(d.crop_y, 0);
    EXPECT_GE(d.crop_x, 0);
    EXPECT_LE(d.crop_y + 128, d.precrop_height);
    EXPECT_LE(d.crop_x + 128, d.precrop_width);
    moved |= d.crop_y > 0 && d.crop_x > 0;
    biggest = std::max(biggest, d.precrop_height);
  }
  EXPECT_TRUE(moved);
  EXPECT_GT(biggest, 220);
}

TEST(Distort, CropReadsTheDrawnWindow) {
  // precrop equals the source size, so no resampling: the window's pixels come out as they are.
  Tensor image = coordinate_image(8, 10);
  Distortion d{.precrop_height = 8, .precrop_width = 10, .crop_y = 3, .crop_x = 4};
  Tensor out = apply_distortion(image, d, kIdentity);
  for (int64_t y = 0; y < 4; ++y)
    for (int64_t x = 0; x < 5; ++x) {
      EXPECT_EQ(at(out, y, x, 0), x + 4);
      EXPECT_EQ(at(out, y, x, 1), y + 3);
    }
  d.crop_x = 6;  // 6 + 5 > 10
  EXPECT_THROW(apply_distortion(image, d, kIdentity), Error);
}

TEST(Distort, BrightnessRangeAndNormalisation) {
  Random random(5);
  float lo = 2, hi = 0;
  for (int i = 0; i < 2000; ++i) {
    float b = draw_distortion({.random_brightness = 30}, kIdentity, random).brightness;
    lo = std::min(lo, b);
    hi = std::max(hi, b);
  }
  EXPECT_GE(lo, 0.7f);
  EXPECT_LT(lo, 0.71f);
  EXPECT_LE(hi, 1.3f);
  EXPECT_GT(hi, 1.29f);
  // (100 * 1.25 - 127.5) * (1 / 127.5)
  ImageInputSpec spec{.height = 4, .width = 5, .mean = 127.5f, .std = 127.5f};
  Distortion d{.precrop_height = 4, .precrop_width = 5, .brightness = 1.25f};
  Tensor out = apply_distortion(coordinate_image(4, 5), d, spec);
  EXPECT_FLOAT_EQ(at(out, 2, 3, 2), (125.0f - 127.5f) * static_cast<float>(1.0 / 127.5));
}

TEST(Distort, SameSeedSameDistortion) {
  ImageInputSpec spec{.height = 16, .width = 16};
  DistortOptions all{
      .flip_left_right = true, .random_crop = 10, .random_scale = 10, .random_brightness = 10};
  Random a(42), b(42);
  Tensor image = coordinate_image(20, 24);
  Tensor x = distort_image(image, all, spec, a), y = distort_image(image, all, spec, b);
  EXPECT_TRUE(std::equal(x.data<float>().begin(), x.data<float>().end(), y.data<float>().begin()));
}

// retrain.py's percentages are plain ints: over 100 a crop margin grows the image more than
// twice, a scale of 200 up to 3x, and a brightness of 150 draws factors in [-0.5, 2.5).
TEST(Distort, PercentagesOverAHundredAsRetrainPy) {
  ImageInputSpec spec{.height = 10, .width = 10, .mean = 0, .std = 1};
  Random random(7);
  int64_t biggest = 0;
  float lo = 1, hi = 1;
  for (int i = 0; i < 500; ++i) {
    Distortion d = draw_distortion(
        {.random_crop = 150, .random_scale = 200, .random_brightness = 150}, spec, random);
    EXPECT_GE(d.precrop_height, 25);  // 2.5 * 10
    EXPECT_LE(d.precrop_height, 75);  // 2.5 * 3 * 10
    EXPECT_LE(d.crop_y + 10, d.precrop_height);
    biggest = std::max(biggest, d.precrop_height);
    lo = std::min(lo, d.brightness);
    hi = std::max(hi, d.brightness);
  }
  EXPECT_GT(biggest, 70);
  EXPECT_LT(lo, -0.45f);
  EXPECT_GE(lo, -0.5f);
  EXPECT_GT(hi, 2.45f);
  EXPECT_LT(hi, 2.5f);
  // At the bound on the pre-crop size, and past it.
  draw_distortion({.random_crop = 400, .random_scale = 100}, spec, random);
  EXPECT_THROW(draw_distortion({.random_crop = 900, .random_scale = 1}, spec, random), Error);
}

TEST(Distort, BadInputsAreErrors) {
  Random random(1);
  EXPECT_THROW(draw_distortion({.random_crop = -1}, kIdentity, random), Error);
  EXPECT_THROW(draw_distortion({.random_scale = -1}, kIdentity, random), Error);
  EXPECT_THROW(draw_distortion({.random_brightness = -1}, kIdentity, random), Error);
  Tensor gray(DType::kUInt8, {4, 5, 1});
  EXPECT_THROW(distort_image(gray, {}, kIdentity, random), Error);
}

}  // namespace
}  // namespace poet::trainer
