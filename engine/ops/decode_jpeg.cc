// DecodeJpeg: a scalar string of JPEG bytes -> uint8 [height, width, channels], decoded as
// TensorFlow does (fast integer DCT unless dct_method says INTEGER_ACCURATE, fancy upsampling,
// CMYK converted to RGB, truncated data an error). A PNG is decoded too, as TensorFlow's
// kernel tells the formats apart by their magic bytes.
#include "engine/image_codec.h"
#include "engine/ops/registry.h"

namespace poet::ops {
namespace {

class DecodeJpeg final : public Op {
 public:
  explicit DecodeJpeg(const Node& node) : what_(node.describe()) {
    options_.channels = static_cast<int>(node.attr_int("channels", 0));
    if (options_.channels != 0 && options_.channels != 1 && options_.channels != 3)
      fail(what_, ": channels must be 0, 1 or 3, got ", options_.channels);
    options_.ratio = static_cast<int>(node.attr_int("ratio", 1));
    if (options_.ratio != 1 && options_.ratio != 2 && options_.ratio != 4 && options_.ratio != 8)
      fail(what_, ": ratio must be 1, 2, 4 or 8, got ", options_.ratio);
    options_.fancy_upsampling = node.attr_bool("fancy_upscaling", true);
    std::string dct = node.attr_string("dct_method", "");
    if (dct != "" && dct != "INTEGER_FAST" && dct != "INTEGER_ACCURATE")
      fail(what_, ": dct_method must be '', 'INTEGER_FAST' or 'INTEGER_ACCURATE', got '", dct, "'");
    options_.fast_dct = dct != "INTEGER_ACCURATE";
    // Recovering truncated files (filling the missing rows) is not implemented: such files
    // are errors, TensorFlow's default.
    if (node.attr_bool("try_recover_truncated", false))
      fail(what_, ": try_recover_truncated=true is not supported");
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(1);
    ctx.expect_dtype(0, DType::kString);
    ctx.expect_rank(0, 0);
    // The size is in the data: known only once decoded.
    ctx.set_output(0, DType::kUInt8,
                   Shape{-1, -1, options_.channels == 0 ? -1 : options_.channels});
  }

  void compute(ComputeContext& ctx) const override {
    ctx.set_output(0, decode_image(ctx.input(0).strings()[0], options_, what_));
  }

 private:
  std::string what_;
  JpegOptions options_;
};

std::unique_ptr<Op> make_decode_jpeg(const Node& node, const OpOptions&) {
  return std::make_unique<DecodeJpeg>(node);
}

POET_REGISTER_OP("DecodeJpeg", make_decode_jpeg,
                 {.inputs = {"string"},
                  .attrs = {"channels", "ratio", "fancy_upscaling", "try_recover_truncated",
                            "acceptable_fraction", "dct_method"}});

}  // namespace
}  // namespace poet::ops
