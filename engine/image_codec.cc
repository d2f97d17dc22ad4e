#include "engine/image_codec.h"

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <vector>

// jpeglib.h needs FILE and size_t declared first.
#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

namespace poet {
namespace {

// Both libraries report fatal errors by calling a handler that must not return. The handlers
// here longjmp back to the guarded step that called into the library. Each guarded step holds
// only trivially destructible locals, so the jump skips no C++ destructor; the RAII owners
// (JpegDecoder, PngDecoder) live outside the steps and release the library state afterwards.

// No real image decodes to more than this many bytes per byte of its file (deflate tops out near
// 1032:1, times 32 for 1-bit palettes expanded to RGBA; JPEG needs about a bit per 8x8 block,
// arithmetic coding somewhat less). A header claiming more is a lie told to make poet
// allocate: the whole output is allocated before the first row is decoded.
constexpr uint64_t kMaxDecodeRatio = 100'000;
constexpr uint64_t kAlwaysAllowedBytes = uint64_t{64} << 20;

void check_sides(int64_t width, int64_t height, std::string_view what) {
  if (width > kMaxImageSide || height > kMaxImageSide)
    fail(what, ": image is ", width, "x", height, ", more than the limit of ", kMaxImageSide,
         " pixels per side");
}

void check_dimensions(int64_t width, int64_t height, int64_t channels, size_t file_bytes,
                      std::string_view what) {
  if (width <= 0 || height <= 0) fail(what, ": image has no pixels (", width, "x", height, ")");
  check_sides(width, height, what);
  if (static_cast<uint64_t>(width * height * channels) > max_tensor_bytes())
    fail(what, ": decoded image would take ", width * height * channels,
         " bytes, more than the tensor limit of ", max_tensor_bytes(), " (POET_MAX_TENSOR_BYTES)");
  const uint64_t decoded = static_cast<uint64_t>(width * height * channels);
  if (decoded > kAlwaysAllowedBytes && decoded / kMaxDecodeRatio > file_bytes)
    fail(what, ": header claims a ", width, "x", height, " image (", decoded,
         " bytes decoded) in a file of only ", file_bytes, " bytes");
}

// ---------------------------------------------------------------------------------------
// JPEG (libjpeg API of libjpeg-turbo)

struct JpegErrors {
  jpeg_error_mgr pub;  // first member: libjpeg sees only this part
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void jpeg_on_error(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

// Warnings (corrupt but decodable data) are tolerated silently, as TensorFlow does.
void jpeg_no_output(j_common_ptr) {}

// The whole file is in memory, so running out of input means the data is truncated, which
// TensorFlow treats as an error (try_recover_truncated defaults to false).
void jpeg_source_init(j_decompress_ptr) {}
boolean jpeg_source_fill(j_decompress_ptr cinfo) {
  ERREXIT(cinfo, JERR_INPUT_EOF);
  return FALSE;
}
void jpeg_source_skip(j_decompress_ptr cinfo, long count) {
  if (count <= 0) return;
  jpeg_source_mgr* src = cinfo->src;
  if (static_cast<size_t>(count) > src->bytes_in_buffer) ERREXIT(cinfo, JERR_INPUT_EOF);
  src->next_input_byte += count;
  src->bytes_in_buffer -= static_cast<size_t>(count);
}
void jpeg_source_term(j_decompress_ptr) {}

// A progressive JPEG may hold any number of scans, each a full pass over the image's
// coefficients: a few kilobytes of scans can take minutes. Real encoders write about ten.
constexpr int kMaxJpegScans = 1000;

void jpeg_limit_scans(j_common_ptr cinfo) {
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number <= kMaxJpegScans) return;
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  std::snprintf(errors->message, sizeof errors->message, "more than %d progressive scans",
                kMaxJpegScans);
  std::longjmp(errors->jump, 1);
}

struct JpegDecoder {
  jpeg_decompress_struct cinfo{};
  JpegErrors errors{};
  jpeg_source_mgr source{};
  jpeg_progress_mgr progress{};
  bool created = false;

  ~JpegDecoder() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

bool jpeg_create_step(JpegDecoder& d, std::string_view bytes) {
  d.cinfo.err = jpeg_std_error(&d.errors.pub);
  d.errors.pub.error_exit = jpeg_on_error;
  d.errors.pub.output_message = jpeg_no_output;
  if (setjmp(d.errors.jump)) return false;
  jpeg_create_decompress(&d.cinfo);
  d.created = true;
  d.source.next_input_byte = reinterpret_cast<const JOCTET*>(bytes.data());
  d.source.bytes_in_buffer = bytes.size();
  d.source.init_source = jpeg_source_init;
  d.source.fill_input_buffer = jpeg_source_fill;
  d.source.skip_input_data = jpeg_source_skip;
  d.source.resync_to_restart = jpeg_resync_to_restart;
  d.source.term_source = jpeg_source_term;
  d.cinfo.src = &d.source;
  d.progress.progress_monitor = jpeg_limit_scans;
  d.cinfo.progress = &d.progress;
  jpeg_read_header(&d.cinfo, TRUE);
  return true;
}

bool jpeg_dimensions_step(JpegDecoder& d) {
  if (setjmp(d.errors.jump)) return false;
  jpeg_calc_output_dimensions(&d.cinfo);
  return true;
}

// Decodes every row into `sink`. CMYK files decode through `cmyk_row` (width * 4 bytes) and
// are converted to RGB as TensorFlow does.
bool jpeg_rows_step(JpegDecoder& d, RowSink& sink, uint8_t* cmyk_row) {
  if (setjmp(d.errors.jump)) return false;
  jpeg_start_decompress(&d.cinfo);
  while (d.cinfo.output_scanline < d.cinfo.output_height) {
    const int64_t y = d.cinfo.output_scanline;
    uint8_t* row = sink.row(y);
    JSAMPROW target = cmyk_row ? cmyk_row : row;
    if (jpeg_read_scanlines(&d.cinfo, &target, 1) != 1) ERREXIT(&d.cinfo, JERR_INPUT_EOF);
    for (JDIMENSION x = 0; cmyk_row && x < d.cinfo.output_width; ++x) {
      const uint8_t* p = cmyk_row + 4 * x;
      for (int c = 0; c < 3; ++c) {
        // Adobe writes inverted CMYK; plain CMYK is converted with (255 - k) * (255 - c) / 255.
        row[3 * x + c] = static_cast<uint8_t>(
            d.cinfo.saw_Adobe_marker ? p[3] * p[c] / 255 : (255 - p[3]) * (255 - p[c]) / 255);
      }
    }
    sink.row_done(y);
  }
  jpeg_finish_decompress(&d.cinfo);
  return true;
}

// Rows into one uint8 [height, width, channels] tensor.
class TensorSink final : public RowSink {
 public:
  void start(int64_t height, int64_t width, int channels) override {
    image = Tensor(DType::kUInt8, {height, width, channels});
    row_bytes_ = width * channels;
  }
  uint8_t* row(int64_t y) override { return image.data<uint8_t>().data() + y * row_bytes_; }
  void row_done(int64_t) override {}
  uint8_t* whole_image() override { return image.data<uint8_t>().data(); }

  Tensor image;

 private:
  int64_t row_bytes_ = 0;
};

[[noreturn]] void jpeg_fail(const JpegDecoder& d, std::string_view what) {
  fail(what, ": invalid JPEG data (", d.errors.message, ")");
}

// ---------------------------------------------------------------------------------------
// PNG (libpng)

struct PngDecoder {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const uint8_t* next = nullptr;
  size_t left = 0;
  char message[256] = {};
  int channels = 0;
  int passes = 1;

  ~PngDecoder() {
    if (png) png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
  }
};

[[noreturn]] void png_on_error(png_structp png, png_const_charp message) {
  auto* d = static_cast<PngDecoder*>(png_get_error_ptr(png));
  std::snprintf(d->message, sizeof d->message, "%s", message);
  png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}

void png_read_bytes(png_structp png, png_bytep data, size_t length) {
  auto* d = static_cast<PngDecoder*>(png_get_io_ptr(png));
  if (length > d->left) png_error(png, "truncated data (file ends early)");
  std::memcpy(data, d->next, length);
  d->next += length;
  d->left -= length;
}

// The size in the IHDR chunk, which comes first: libpng's user limits refuse an image over the
// side limit as a corrupt header ("Invalid IHDR data"), not by its size. A file too short for
// it is left to libpng to report.
void check_png_sides(std::string_view bytes, std::string_view what) {
  if (bytes.size() < 24 || bytes.substr(12, 4) != "IHDR") return;
  auto big_endian = [&](size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = v << 8 | static_cast<uint8_t>(bytes[at + i]);
    return static_cast<int64_t>(v);
  };
  check_sides(big_endian(16), big_endian(20), what);
}

// Reads the header and sets up TensorFlow's transformations for `wanted` channels (0: as in
// the file) and 8-bit output.
bool png_header_step(PngDecoder& d, int wanted) {
  if (setjmp(png_jmpbuf(d.png))) return false;
  d.info = png_create_info_struct(d.png);
  if (!d.info) png_error(d.png, "out of memory");
  png_set_user_limits(d.png, kMaxImageSide, kMaxImageSide);
  png_set_read_fn(d.png, &d, png_read_bytes);
  png_read_info(d.png, d.info);
  int color = png_get_color_type(d.png, d.info);
  int depth = png_get_bit_depth(d.png, d.info);
  bool has_trns = png_get_valid(d.png, d.info, PNG_INFO_tRNS) != 0;
  d.channels = wanted != 0                       ? wanted
               : color == PNG_COLOR_TYPE_PALETTE ? (has_trns ? 4 : 3)
                                                 : png_get_channels(d.png, d.info);
  bool has_alpha = (color & PNG_COLOR_MASK_ALPHA) != 0;
  if (d.channels % 2 == 0) {
    if (!has_alpha && has_trns) png_set_tRNS_to_alpha(d.png);
    // TensorFlow fills alpha with the file's largest sample, (1 << bit depth) - 1: it stays 1, 3
    // or 15 when 1-, 2- or 4-bit samples expand to 8 bits.
    if (!has_alpha && !has_trns) png_set_add_alpha(d.png, (1 << depth) - 1, PNG_FILLER_AFTER);
  } else if (has_alpha || has_trns) {
    png_set_strip_alpha(d.png);
  }
  if (depth > 8) png_set_strip_16(d.png);
  png_set_packing(d.png);
  d.passes = png_set_interlace_handling(d.png);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(d.png);
  bool is_gray = (color & PNG_COLOR_MASK_COLOR) == 0;
  if (is_gray && depth < 8) png_set_expand_gray_1_2_4_to_8(d.png);
  if (d.channels < 3 && !is_gray) png_set_rgb_to_gray(d.png, 1, 0.299, 0.587);  // BT.601 weights
  if (d.channels >= 3 && is_gray) png_set_gray_to_rgb(d.png);
  png_read_update_info(d.png, d.info);
  return true;
}

// A plain image's rows, each into `sink` as it is read.
bool png_rows_step(PngDecoder& d, RowSink& sink, uint32_t height) {
  if (setjmp(png_jmpbuf(d.png))) return false;
  for (uint32_t y = 0; y < height; ++y) {
    png_read_row(d.png, sink.row(y), nullptr);
    sink.row_done(y);
  }
  png_read_end(d.png, nullptr);
  return true;
}

// An interlaced image's passes, each merged by png_read_row into the rows of `out`.
bool png_interlaced_step(PngDecoder& d, uint8_t* out, size_t row_bytes, uint32_t height) {
  if (setjmp(png_jmpbuf(d.png))) return false;
  for (int pass = 0; pass < d.passes; ++pass) {
    for (uint32_t y = 0; y < height; ++y) png_read_row(d.png, out + y * row_bytes, nullptr);
  }
  png_read_end(d.png, nullptr);
  return true;
}

}  // namespace

ImageFormat sniff_image_format(std::string_view bytes) {
  if (bytes.size() >= 3 && bytes.substr(0, 3) == "\xff\xd8\xff") return ImageFormat::kJpeg;
  if (bytes.size() >= 8 && bytes.substr(0, 8) == "\x89PNG\r\n\x1a\n") return ImageFormat::kPng;
  return ImageFormat::kUnknown;
}

namespace {

// The format of `bytes`; an error naming `what` when it is neither JPEG nor PNG.
ImageFormat known_format(std::string_view bytes, std::string_view what) {
  const ImageFormat format = sniff_image_format(bytes);
  if (format == ImageFormat::kUnknown)
    fail(what, ": not a JPEG or PNG image (unrecognised leading bytes)");
  return format;
}

void decode_jpeg_rows(std::string_view bytes, const JpegOptions& options, std::string_view what,
                      RowSink& sink) {
  if (options.channels != 0 && options.channels != 1 && options.channels != 3)
    fail(what, ": JPEG channels must be 0, 1 or 3, got ", options.channels);
  if (options.ratio != 1 && options.ratio != 2 && options.ratio != 4 && options.ratio != 8)
    fail(what, ": JPEG ratio must be 1, 2, 4 or 8, got ", options.ratio);
  if (bytes.empty()) fail(what, ": empty JPEG data");
  JpegDecoder d;
  if (!jpeg_create_step(d, bytes)) jpeg_fail(d, what);

  int channels = options.channels == 0 ? std::min(d.cinfo.num_components, 3) : options.channels;
  bool cmyk = channels == 3 &&
              (d.cinfo.jpeg_color_space == JCS_CMYK || d.cinfo.jpeg_color_space == JCS_YCCK);
  if (channels == 1) {
    d.cinfo.out_color_space = JCS_GRAYSCALE;
  } else if (channels == 3) {
    d.cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  } else {
    fail(what, ": JPEG has ", d.cinfo.num_components, " color components; poet reads 1, 3 or 4");
  }
  d.cinfo.dct_method = options.fast_dct ? JDCT_IFAST : JDCT_ISLOW;
  d.cinfo.do_fancy_upsampling = options.fancy_upsampling ? TRUE : FALSE;
  d.cinfo.scale_num = 1;
  d.cinfo.scale_denom = static_cast<unsigned>(options.ratio);
  if (!jpeg_dimensions_step(d)) jpeg_fail(d, what);
  int64_t width = d.cinfo.output_width, height = d.cinfo.output_height;
  check_dimensions(width, height, channels, bytes.size(), what);
  if (d.cinfo.output_components != (cmyk ? 4 : channels))
    fail(what, ": libjpeg produced ", d.cinfo.output_components, " components, expected ",
         channels);
  // Progressive files buffer every coefficient; bound libjpeg's own memory by the image size
  // (at most 4 full-size components of 16-bit coefficients) so a forged header cannot make it
  // allocate more.
  d.cinfo.mem->max_memory_to_use = 8L * d.cinfo.image_width * d.cinfo.image_height + (64L << 20);

  sink.start(height, width, channels);
  std::vector<uint8_t> cmyk_row(cmyk ? static_cast<size_t>(width) * 4 : 0);
  if (!jpeg_rows_step(d, sink, cmyk ? cmyk_row.data() : nullptr)) jpeg_fail(d, what);
}

void decode_png_rows(std::string_view bytes, int channels, std::string_view what, RowSink& sink) {
  if (channels != 0 && channels != 1 && channels != 3 && channels != 4)
    fail(what, ": PNG channels must be 0, 1, 3 or 4, got ", channels);
  if (sniff_image_format(bytes) != ImageFormat::kPng) fail(what, ": not PNG data (bad signature)");
  check_png_sides(bytes, what);
  PngDecoder d;
  d.next = reinterpret_cast<const uint8_t*>(bytes.data());
  d.left = bytes.size();
  d.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &d, png_on_error, png_on_warning);
  if (!d.png) fail(what, ": cannot start the PNG decoder (out of memory)");
  if (!png_header_step(d, channels)) fail(what, ": invalid PNG data (", d.message, ")");
  int64_t width = png_get_image_width(d.png, d.info);
  int64_t height = png_get_image_height(d.png, d.info);
  check_dimensions(width, height, d.channels, bytes.size(), what);
  size_t row_bytes = static_cast<size_t>(width) * d.channels;
  if (png_get_rowbytes(d.png, d.info) != row_bytes || png_get_channels(d.png, d.info) != d.channels)
    fail(what, ": PNG layout ", png_get_channels(d.png, d.info), " channels, ",
         png_get_rowbytes(d.png, d.info), " bytes per row is not the expected ", d.channels,
         " channels of 8 bits");
  sink.start(height, width, d.channels);
  const auto rows = static_cast<uint32_t>(height);
  if (d.passes == 1) {
    if (!png_rows_step(d, sink, rows)) fail(what, ": invalid PNG data (", d.message, ")");
    return;
  }
  // The passes go straight into a sink that holds the whole image, else through a copy.
  std::vector<uint8_t> copy;
  uint8_t* whole = sink.whole_image();
  if (!whole) {
    copy.resize(static_cast<size_t>(height) * row_bytes);
    whole = copy.data();
  }
  if (!png_interlaced_step(d, whole, row_bytes, rows))
    fail(what, ": invalid PNG data (", d.message, ")");
  for (int64_t y = 0; y < height; ++y) {
    if (!copy.empty()) std::memcpy(sink.row(y), whole + y * row_bytes, row_bytes);
    sink.row_done(y);
  }
}

}  // namespace

Tensor decode_jpeg(std::string_view bytes, const JpegOptions& options, std::string_view what) {
  TensorSink sink;
  decode_jpeg_rows(bytes, options, what, sink);
  return std::move(sink.image);
}

Tensor decode_png(std::string_view bytes, int channels, std::string_view what) {
  TensorSink sink;
  decode_png_rows(bytes, channels, what, sink);
  return std::move(sink.image);
}

void decode_image_rows(std::string_view bytes, int channels, std::string_view what, RowSink& sink) {
  if (known_format(bytes, what) == ImageFormat::kJpeg)
    return decode_jpeg_rows(bytes, JpegOptions{.channels = channels}, what, sink);
  decode_png_rows(bytes, channels, what, sink);
}

Tensor decode_image(std::string_view bytes, const JpegOptions& options, std::string_view what) {
  if (known_format(bytes, what) == ImageFormat::kJpeg) return decode_jpeg(bytes, options, what);
  return decode_png(bytes, options.channels, what);
}

Tensor decode_image(std::string_view bytes, int channels, std::string_view what) {
  return decode_image(bytes, JpegOptions{.channels = channels}, what);
}

}  // namespace poet
