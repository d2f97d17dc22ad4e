// Turning an image file into the float input tensor a classification graph expects, with the
// preprocessing of TensorFlow's classify_image.py, label_image.py and retrain.py: decode to 3
// channels, convert to float, add a batch dimension, ResizeBilinear (legacy grid, no
// align_corners), subtract the mean, multiply by 1/std.
#pragma once

#include <filesystem>

#include "engine/tensor.h"

namespace poet {

struct ImageInputSpec {
  int64_t height = 224;
  int64_t width = 224;
  float mean = 127.5f;
  float std = 127.5f;
};

// uint8 [h, w, 3] (as decode_image returns) -> float32 [1, height, width, 3].
Tensor preprocess_image(const Tensor& image, const ImageInputSpec& spec);

// Reads a JPEG or PNG file and preprocesses it. Errors name the file.
Tensor read_image_input(const std::filesystem::path& file, const ImageInputSpec& spec);

}  // namespace poet
