// DecodePng: a scalar string of PNG bytes -> uint8 [height, width, channels]. Palettes and
// low bit depths expand to 8 bits, 16-bit samples keep their high byte, gray and color convert
// as `channels` asks (TensorFlow's png_io transformations). A JPEG is decoded too, with
// TensorFlow's default JPEG options, as its kernel tells the formats apart by magic bytes.
#include "engine/image_codec.h"
#include "engine/ops/registry.h"

namespace poet::ops {
namespace {

class DecodePng final : public Op {
 public:
  explicit DecodePng(const Node& node)
      : what_(node.describe()), channels_(static_cast<int>(node.attr_int("channels", 0))) {
    if (channels_ != 0 && channels_ != 1 && channels_ != 3 && channels_ != 4)
      fail(what_, ": channels must be 0, 1, 3 or 4, got ", channels_);
    DType dtype = node.attr_type("dtype", DType::kUInt8);
    if (dtype != DType::kUInt8)
      fail(what_, ": dtype ", dtype_name(dtype), " is not supported; poet decodes PNG to uint8");
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1);
    ctx.expect_dtype(0, DType::kString);
    ctx.expect_rank(0, 0);
    ctx.set_output(0, DType::kUInt8, Shape{-1, -1, channels_ == 0 ? -1 : channels_});
  }

  void compute(ComputeContext& ctx) const override {
    // TensorFlow's default JPEG options for a JPEG given to DecodePng.
    ctx.set_output(
        0, decode_image(ctx.input(0).strings()[0], JpegOptions{.channels = channels_}, what_));
  }

 private:
  std::string what_;
  int channels_;
};

std::unique_ptr<Op> make_decode_png(const Node& node, const OpOptions&) {
  return std::make_unique<DecodePng>(node);
}

POET_REGISTER_OP("DecodePng", make_decode_png,
                 {.inputs = {"string"}, .attrs = {"channels", "dtype"}});

}  // namespace
}  // namespace poet::ops
