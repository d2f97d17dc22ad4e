// Turning an image file into the float input tensor a classification graph expects, with the
// preprocessing of TensorFlow's classify_image.py, label_image.py and retrain.py: decode to 3
// channels, convert to float, add a batch dimension, ResizeBilinear (legacy grid, no
// align_corners), subtract the mean, multiply by 1/std.
#pragma once

#include <filesystem>
#include <span>

#include "engine/graph.h"
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
// The same into `out`, height * width * 3 floats: one image's place in a batch.
void preprocess_image(const Tensor& image, const ImageInputSpec& spec, std::span<float> out);

// The resize alone: uint8 [h, w, 3] -> float [height, width, 3] in `out`, each sample converted
// to float first (Cast, then ResizeBilinear with the legacy grid), on the fast kernels, which
// give the reference's bits.
void resize_image(const Tensor& image, int64_t height, int64_t width, std::span<float> out);

// Reads a JPEG or PNG file, decoded to uint8 [h, w, 3]. Errors name the file.
Tensor read_image(const std::filesystem::path& file);

// Reads a JPEG or PNG file and preprocesses it. Errors name the file. A photo much larger than
// the input is resized as it decodes, holding only the rows the resize still reads (the same
// bits as preprocess_image of the whole image).
Tensor read_image_input(const std::filesystem::path& file, const ImageInputSpec& spec);
// The same into `out`, height * width * 3 floats.
void read_image_input(const std::filesystem::path& file, const ImageInputSpec& spec,
                      std::span<float> out);

// The shape to build a graph for that is fed read_image_input's images one at a time, given the
// shape the graph declares for its input: [1, height, width, 3] where that leaves dimensions
// open (a TF.js model's [?, 299, 299, 3]), the declared ones elsewhere, so a mismatch stays the
// run's error. Built for it (ExecOptions::feed_shapes), an executable plans its activation arena
// at load, with a concatenation's inputs in place, and infers no step's shapes at run time; an
// open batch has its arena planned only after a first run, without those.
PartialShape image_input_shape(const PartialShape& declared, const ImageInputSpec& spec);

}  // namespace poet
