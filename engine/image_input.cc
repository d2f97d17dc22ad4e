#include "engine/image_input.h"

#include "engine/file_io.h"
#include "engine/image_codec.h"
#include "kernels/x86/resize_bilinear_nhwc.h"

namespace poet {

namespace {

constexpr auto kGrid = kernels::ref::ResizeGrid::kLegacy;

void check_spec(const ImageInputSpec& spec) {
  if (spec.height <= 0 || spec.width <= 0 || spec.height > kMaxImageSide ||
      spec.width > kMaxImageSide)
    fail("input size ", spec.height, "x", spec.width, " is out of range 1..", kMaxImageSide);
  if (spec.std == 0) fail("input std must not be 0");
}

void check_spec(const ImageInputSpec& spec, std::span<float> out) {
  check_spec(spec);
  if (out.size() != static_cast<size_t>(spec.height * spec.width * 3))
    fail("preprocess_image: ", out.size(), " floats for a ", spec.height, "x", spec.width,
         " image");
}

void normalise(const ImageInputSpec& spec, std::span<float> out) {
  // retrain.py multiplies by 1/std (a double rounded to float) rather than dividing.
  const float scale = static_cast<float>(1.0 / spec.std);
  for (float& v : out) v = (v - spec.mean) * scale;
}

// Whether an image of `values` samples is resized by the reference kernel straight from its
// bytes (resize_image), and so can be resized as it decodes.
bool resized_from_bytes(int64_t values, int64_t height, int64_t width) {
  return values > 4 * height * width * 3;
}

// Resizes an image as it decodes, into `out`: a large one (resized_from_bytes) keeps only the
// input rows that output rows still read, two at a time when it shrinks, and computes each
// output row once its lower and upper rows are in (the reference's arithmetic, so the same
// bits); a small one is held whole for resize_image's SIMD kernel.
class ResizingSink final : public RowSink {
 public:
  ResizingSink(int64_t height, int64_t width, std::span<float> out)
      : out_h_(height), out_w_(width), out_(out) {}

  void start(int64_t height, int64_t width, int channels) override {
    if (channels != 3) fail("ResizingSink: ", channels, " channels, expected 3");
    whole_ = !resized_from_bytes(height * width * 3, out_h_, out_w_);
    if (whole_) {
      image_ = Tensor(DType::kUInt8, {height, width, 3});
      return;
    }
    ys_ = kernels::ref::interpolation_weights(height, out_h_, kGrid);
    xs_ = kernels::ref::interpolation_weights(width, out_w_, kGrid);
    rows_.resize(static_cast<size_t>(height));
    read_.assign(static_cast<size_t>(height), false);
    for (const kernels::ref::Interpolation& y : ys_) read_[y.lower] = read_[y.upper] = true;
    row_bytes_ = static_cast<size_t>(width) * 3;
  }

  uint8_t* whole_image() override { return whole_ ? image_.data<uint8_t>().data() : nullptr; }

  uint8_t* row(int64_t y) override {
    if (whole_) return whole_image() + y * image_.dim(1) * 3;
    std::vector<uint8_t>& row = read_[y] ? rows_[y] : skipped_;
    row.resize(row_bytes_);
    return row.data();
  }

  void row_done(int64_t y) override {
    if (whole_) return;
    for (; next_ < out_h_ && ys_[next_].upper <= y; ++next_)
      kernels::ref::resize_bilinear_row<uint8_t>(xs_, 3, rows_[ys_[next_].lower].data(),
                                                 rows_[ys_[next_].upper].data(), ys_[next_].lerp,
                                                 out_.data() + next_ * out_w_ * 3);
    // Rows above the next output row's lower one are read no more.
    const int64_t keep_from = next_ < out_h_ ? ys_[next_].lower : y + 1;
    for (; dropped_ < keep_from; ++dropped_) std::vector<uint8_t>().swap(rows_[dropped_]);
  }

  // After the last row.
  void finish() {
    if (whole_) return resize_image(image_, out_h_, out_w_, out_);
    if (next_ != out_h_) fail("ResizingSink: ", next_, " of ", out_h_, " rows resized");
  }

 private:
  int64_t out_h_, out_w_;
  std::span<float> out_;
  bool whole_ = false;  // the image is held whole, in image_
  Tensor image_;
  std::vector<kernels::ref::Interpolation> ys_, xs_;
  std::vector<std::vector<uint8_t>> rows_;  // the rows read, until no output row reads them
  std::vector<bool> read_;                  // whether an output row reads input row y
  std::vector<uint8_t> skipped_;            // where rows no output row reads are decoded
  size_t row_bytes_ = 0;
  int64_t next_ = 0;     // the next output row to compute
  int64_t dropped_ = 0;  // rows_ below this are freed
};

}  // namespace

void preprocess_image(const Tensor& image, const ImageInputSpec& spec, std::span<float> out) {
  if (image.dtype() != DType::kUInt8 || image.rank() != 3 || image.dim(2) != 3)
    fail("preprocess_image: expected a uint8 [h,w,3] image, got ", dtype_name(image.dtype()), " ",
         shape_string(image.shape()));
  check_spec(spec, out);
  resize_image(image, spec.height, spec.width, out);
  normalise(spec, out);
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
  // The SIMD kernel reads floats, and converting costs a step per input value, the resize one
  // per output value. A photo much larger than the input (12 MP to 299x299) is resized by the
  // reference straight from its bytes: no float copy of it (48 MB there, 1.2 GB for a
  // 10000x10000 PNG), and fewer steps. Both give the same bits.
  if (resized_from_bytes(image.num_elements(), height, width))
    return kernels::ref::resize_bilinear<uint8_t>(shape, kGrid, samples, out);
  const std::vector<float> floats(samples.begin(), samples.end());
  kernels::x86::resize_bilinear_nhwc(kernels::x86::active_isa(), shape, kGrid, floats, out,
                                     nullptr);
}

Tensor read_image(const std::filesystem::path& file) {
  return decode_image(read_file(file, size_t{1} << 30), 3, file.string());
}

void read_image_input(const std::filesystem::path& file, const ImageInputSpec& spec,
                      std::span<float> out) {
  check_spec(spec, out);
  ResizingSink sink(spec.height, spec.width, out);
  decode_image_rows(read_file(file, size_t{1} << 30), 3, file.string(), sink);
  sink.finish();
  normalise(spec, out);
}

Tensor read_image_input(const std::filesystem::path& file, const ImageInputSpec& spec) {
  check_spec(spec);  // before the tensor is allocated
  Tensor out(DType::kFloat32, {1, spec.height, spec.width, 3});
  read_image_input(file, spec, out.data<float>());
  return out;
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
