// retrain.py's random image distortions (add_input_distortions), applied to a decoded image:
//   scale = (1 + random_crop/100) * U(1, 1 + random_scale/100)     (float32, as TensorFlow)
//   resize bilinear (legacy grid) to int(scale * input size) on each side
//   crop a random input-sized window (tf.random_crop: offsets uniform over the valid range)
//   flip left-right with probability 1/2 (only with flip_left_right)
//   multiply by U(1 - random_brightness/100, 1 + random_brightness/100)
//   subtract the mean, multiply by 1/std
// The random numbers come from poet's seeded Random, so a seed repeats a run exactly; they are
// not TensorFlow's numbers.
#pragma once

#include "engine/image_input.h"
#include "engine/tensor.h"
#include "trainer/random.h"

namespace poet::trainer {

struct DistortOptions {
  bool flip_left_right = false;
  int random_crop = 0;        // percent
  int random_scale = 0;       // percent
  int random_brightness = 0;  // percent
};

// retrain.py takes any non-negative percentages: a crop margin over 100, a scale up to several
// times the input, a brightness over 100 that can make the factor negative. The pre-crop image
// grows with (1 + random_crop/100) * (1 + random_scale/100); poet bounds that product, which
// bounds the memory of each image distorted (Inception v3 at the bound: 2990x2990, 107 MB of
// floats).
inline constexpr double kMaxDistortScale = 10;

// Fails, naming the flag, on a negative percentage or a scale product over kMaxDistortScale.
void check_distort_options(const DistortOptions& options);

// What one distortion drew. A batch's draws are taken in order first (they consume the seeded
// Random), then applied to each image, which may run on any thread.
struct Distortion {
  int64_t precrop_height = 0, precrop_width = 0;
  int64_t crop_y = 0, crop_x = 0;
  bool flipped = false;
  float brightness = 1;
};

// The draws for an input of spec's size, in retrain.py's order: scale, crop offsets, flip,
// brightness.
Distortion draw_distortion(const DistortOptions& options, const ImageInputSpec& spec,
                           Random& random);

// uint8 [h, w, 3] -> float32 [1, spec.height, spec.width, 3], distorted as drawn.
Tensor apply_distortion(const Tensor& image, const Distortion& distortion,
                        const ImageInputSpec& spec);
// The same into `out`, spec.height * spec.width * 3 floats: one image's place in a batch.
void apply_distortion(const Tensor& image, const Distortion& distortion, const ImageInputSpec& spec,
                      std::span<float> out);

}  // namespace poet::trainer
