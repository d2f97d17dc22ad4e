#include "trainer/distort.h"

#include <algorithm>

#include "engine/error.h"

namespace poet::trainer {
namespace {

// tf.random_uniform(minval, maxval) for float32: min + u * (max - min), u in [0, 1).
float uniform(Random& random, float min, float max) {
  return min + static_cast<float>(random.uniform()) * (max - min);
}

}  // namespace

void check_distort_options(const DistortOptions& options) {
  for (auto [flag, value] : {std::pair{"--random_crop", options.random_crop},
                             {"--random_scale", options.random_scale},
                             {"--random_brightness", options.random_brightness}})
    if (value < 0) fail(flag, " ", value, ": must not be negative");
  const double scale = (1 + options.random_crop / 100.0) * (1 + options.random_scale / 100.0);
  if (scale > kMaxDistortScale)
    fail("--random_crop ", options.random_crop, " with --random_scale ", options.random_scale,
         ": scales the images up to ", scale, " times their size; at most ", kMaxDistortScale,
         " (1 + crop/100) * (1 + scale/100)");
}

Distortion draw_distortion(const DistortOptions& options, const ImageInputSpec& spec,
                           Random& random) {
  check_distort_options(options);
  Distortion d;
  // As retrain.py: both factors are float32 tensors, the product cast to int32 (truncation).
  const float margin = static_cast<float>(1.0 + options.random_crop / 100.0);
  const float resize =
      uniform(random, 1.0f, static_cast<float>(1.0 + options.random_scale / 100.0));
  const float scale = margin * resize;
  d.precrop_height =
      std::max<int64_t>(spec.height, static_cast<int64_t>(scale * static_cast<float>(spec.height)));
  d.precrop_width =
      std::max<int64_t>(spec.width, static_cast<int64_t>(scale * static_cast<float>(spec.width)));
  d.crop_y =
      static_cast<int64_t>(random.below(static_cast<uint64_t>(d.precrop_height - spec.height + 1)));
  d.crop_x =
      static_cast<int64_t>(random.below(static_cast<uint64_t>(d.precrop_width - spec.width + 1)));
  if (options.flip_left_right) d.flipped = random.uniform() < 0.5;
  const float b = static_cast<float>(options.random_brightness / 100.0);
  d.brightness = uniform(random, 1.0f - b, 1.0f + b);
  return d;
}

void apply_distortion(const Tensor& image, const Distortion& d, const ImageInputSpec& spec,
                      std::span<float> o) {
  if (image.dtype() != DType::kUInt8 || image.rank() != 3 || image.dim(2) != 3)
    fail("distort: expected a uint8 [h,w,3] image, got ", dtype_name(image.dtype()), " ",
         shape_string(image.shape()));
  if (spec.std == 0) fail("distort: input std must not be 0");
  if (d.crop_y < 0 || d.crop_x < 0 || d.crop_y + spec.height > d.precrop_height ||
      d.crop_x + spec.width > d.precrop_width)
    fail("distort: crop window outside the resized image");
  if (o.size() != static_cast<size_t>(spec.height * spec.width * 3))
    fail("distort: ", o.size(), " floats for a ", spec.height, "x", spec.width, " image");
  std::vector<float> precrop(static_cast<size_t>(d.precrop_height * d.precrop_width * 3));
  resize_image(image, d.precrop_height, d.precrop_width, precrop);
  const float scale = static_cast<float>(1.0 / spec.std);
  for (int64_t y = 0; y < spec.height; ++y) {
    for (int64_t x = 0; x < spec.width; ++x) {
      int64_t sx = d.crop_x + (d.flipped ? spec.width - 1 - x : x);
      const float* src = &precrop[static_cast<size_t>(((d.crop_y + y) * d.precrop_width + sx) * 3)];
      float* dst = &o[static_cast<size_t>((y * spec.width + x) * 3)];
      for (int c = 0; c < 3; ++c) dst[c] = (src[c] * d.brightness - spec.mean) * scale;
    }
  }
}

Tensor apply_distortion(const Tensor& image, const Distortion& d, const ImageInputSpec& spec) {
  Tensor out(DType::kFloat32, {1, spec.height, spec.width, 3});
  apply_distortion(image, d, spec, out.data<float>());
  return out;
}

}  // namespace poet::trainer
