#include "engine/image_input.h"

#include "engine/file_io.h"
#include "engine/image_codec.h"
#include "kernels/x86/resize_bilinear_nhwc.h"

namespace poet {

namespace {

void check_spec(const ImageInputSpec& spec) {
  if (spec.height <= 0 || spec.width <= 0 || spec.height > kMaxImageSide ||
      spec.width > kMaxImageSide)
    fail("input size ", spec.height, "x", spec.width, " is out of range 1..", kMaxImageSide);
  if (spec.std == 0) fail("input std must not be 0");
}

}  // namespace

void preprocess_image(const Tensor& image, const ImageInputSpec& spec, std::span<float> out) {
  if (image.dtype() != DType::kUInt8 || image.rank() != 3 || image.dim(2) != 3)
    fail("preprocess_image: expected a uint8 [h,w,3] image, got ", dtype_name(image.dtype()), " ",
         shape_string(image.shape()));
  check_spec(spec);
  if (out.size() != static_cast<size_t>(spec.height * spec.width * 3))
    fail("preprocess_image: ", out.size(), " floats for a ", spec.height, "x", spec.width,
         " image");
  resize_image(image, spec.height, spec.width, out);
  // retrain.py multiplies by 1/std (a double rounded to float) rather than dividing.
  const float scale = static_cast<float>(1.0 / spec.std);
  for (float& v : out) v = (v - spec.mean) * scale;
}

Tensor preprocess_image(const Tensor& image, const ImageInputSpec& spec) {
  check_spec(spec);  // before the tensor is allocated
  Tensor out(DType::kFloat32, {1, spec.height, spec.width, 3});
  preprocess_image(image, spec, out.data<float>());
  return out;
}

void resize_image(const Tensor& image, int64_t height, int64_t width, std::span<float> out) {
  const std::span<const uint8_t> samples = image.data<uint8_t>();
  const kernels::ref::ResizeShape shape{1, image.dim(0), image.dim(1), 3, height, width};
  constexpr auto kGrid = kernels::ref::ResizeGrid::kLegacy;
  // The SIMD kernel reads floats, and converting costs a step per input value, the resize one
  // per output value. A photo much larger than the input (12 MP to 299x299) is resized by the
  // reference straight from its bytes: no float copy of it (48 MB there, 1.2 GB for a
  // 10000x10000 PNG), and fewer steps. Both give the same bits.
  if (image.num_elements() > 4 * height * width * 3)
    return kernels::ref::resize_bilinear<uint8_t>(shape, kGrid, samples, out);
  const std::vector<float> floats(samples.begin(), samples.end());
  kernels::x86::resize_bilinear_nhwc(kernels::x86::active_isa(), shape, kGrid, floats, out,
                                     nullptr);
}

Tensor read_image(const std::filesystem::path& file) {
  return decode_image(read_file(file, size_t{1} << 30), 3, file.string());
}

Tensor read_image_input(const std::filesystem::path& file, const ImageInputSpec& spec) {
  return preprocess_image(read_image(file), spec);
}

PartialShape image_input_shape(const PartialShape& declared, const ImageInputSpec& spec) {
  const Shape image = {1, spec.height, spec.width, 3};
  if (!declared.known_rank) return image;
  PartialShape shape = declared;
  if (shape.rank() == static_cast<int64_t>(image.size()))
    for (size_t i = 0; i < image.size(); ++i)
      if (shape.dims[i] < 0) shape.dims[i] = image[i];
  return shape;
}

}  // namespace poet
