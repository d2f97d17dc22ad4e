// JPEG and PNG decoding into uint8 [height, width, channels] tensors, with TensorFlow's
// DecodeJpeg / DecodePng semantics (channel handling, default DCT, 16-bit reduction), shared by
// the graph ops, `poet classify` and the trainer. Bad data is an Error naming `what` (a file or
// a node), never a crash: libjpeg and libpng report errors through longjmp, caught here.
#pragma once

#include <string_view>

#include "engine/tensor.h"

namespace poet {

// Images larger than this on either side are rejected before anything is allocated, as are
// images whose decoded size exceeds max_tensor_bytes() (decompression bombs).
inline constexpr int64_t kMaxImageSide = 30000;

enum class ImageFormat { kUnknown, kJpeg, kPng };

// Recognises JPEG and PNG by their leading magic bytes.
ImageFormat sniff_image_format(std::string_view bytes);

struct JpegOptions {
  int channels = 0;              // 0: as in the file (CMYK becomes RGB), 1 or 3
  int ratio = 1;                 // downscale by 1, 2, 4 or 8 while decoding
  bool fast_dct = true;          // TensorFlow's default: libjpeg's fast integer IDCT
  bool fancy_upsampling = true;  // smooth chroma upsampling (TensorFlow's default)
};

Tensor decode_jpeg(std::string_view bytes, const JpegOptions& options, std::string_view what);

// channels: 0 (as in the file: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA; palettes expand to RGB or
// RGBA), 1, 3 or 4. 16-bit samples keep their high byte, as TensorFlow's DecodePng does for
// uint8 output.
Tensor decode_png(std::string_view bytes, int channels, std::string_view what);

// Where decoded rows go, top to bottom, for a caller that need not hold the whole image.
class RowSink {
 public:
  virtual ~RowSink() = default;
  // Once the header is read, before any row.
  virtual void start(int64_t height, int64_t width, int channels) = 0;
  // Where row y's width * channels bytes are to be decoded.
  virtual uint8_t* row(int64_t y) = 0;
  // Row y is complete.
  virtual void row_done(int64_t y) = 0;
  // The image's rows one after another, when the sink holds it whole (from start on): an
  // interlaced PNG, whose passes revisit every row, decodes into it rather than into a copy.
  virtual uint8_t* whole_image() { return nullptr; }
};

// decode_image into `sink`, row by row. An interlaced PNG, whose passes revisit every row, is
// decoded whole first; a JPEG or a plain PNG never is.
void decode_image_rows(std::string_view bytes, int channels, std::string_view what, RowSink& sink);

// Decodes a JPEG or PNG, told apart by their magic bytes as TensorFlow's DecodeJpeg and
// DecodePng each do (either op decodes either format); `options.channels` applies to both.
Tensor decode_image(std::string_view bytes, const JpegOptions& options, std::string_view what);
// With TensorFlow's default JPEG options.
Tensor decode_image(std::string_view bytes, int channels, std::string_view what);

}  // namespace poet
