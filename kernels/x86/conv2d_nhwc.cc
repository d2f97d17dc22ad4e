// The ISA-independent half of the fast Conv2D: filter packing, border padding, and splitting
// the work over threads. The arithmetic is in conv2d_nhwc_blocked.h.
#include "kernels/x86/conv2d_nhwc.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/error.h"
#include "engine/tensor.h"
#include "engine/thread_pool.h"

namespace poet::kernels::x86 {
namespace {

ConvKernelInfo kernel_for(Isa isa) {
  switch (isa) {
    case Isa::kAvx2:
      return conv2d_nhwc_avx2_kernel();
    case Isa::kAvx512:
      return conv2d_nhwc_avx512_kernel();
    case Isa::kRef:
      break;
  }
  fail("conv2d_nhwc: no SIMD kernel for ISA '", isa_name(isa), "'");
}

// A batch item's input as the kernels need it: the image itself, or a copy when the windows
// reach past the image (SAME padding: zero borders) or its pixels are spaced a multiple of
// 4 KiB apart (in_c a multiple of 1024). With such a spacing the MR pixels a micro-tile
// reads at once all fall in the same L1 cache set and evict each other; the copy spaces them
// 64 bytes further apart.
struct WindowedImage {
  const float* data = nullptr;
  int64_t row_pixels = 0;
  int64_t pixel_floats = 0;
};

class InputLayout {
 public:
  explicit InputLayout(const ConvShape& s) : s_(s) {
    rows_ = (s.out_h - 1) * s.stride_h + (s.k_h - 1) * s.dilation_h + 1;
    cols_ = (s.out_w - 1) * s.stride_w + (s.k_w - 1) * s.dilation_w + 1;
    pitch_ = s.in_c % 1024 == 0 ? s.in_c + 16 : s.in_c;
    copied_ =
        s.pad_top > 0 || s.pad_left > 0 || rows_ > s.in_h || cols_ > s.in_w || pitch_ != s.in_c;
    if (copied_) scratch_ = allocate_aligned(rows_ * cols_ * pitch_ * sizeof(float));
  }

  WindowedImage image(const float* in, ThreadPool* pool) {
    if (!copied_) return {in, s_.in_w, s_.in_c};
    float* out = reinterpret_cast<float*>(scratch_.get());
    // Columns [x0, x1) of a padded row come from the image; the rest are zero.
    const int64_t x0 = std::min(s_.pad_left, cols_);
    const int64_t x1 = std::min(cols_, s_.pad_left + s_.in_w);
    parallel_for(pool, rows_, 8, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        float* row = out + r * cols_ * pitch_;
        const int64_t iy = r - s_.pad_top;
        if (iy < 0 || iy >= s_.in_h) {
          std::memset(row, 0, cols_ * pitch_ * sizeof(float));
          continue;
        }
        std::memset(row, 0, x0 * pitch_ * sizeof(float));
        copy_pixels(row + x0 * pitch_, in + (iy * s_.in_w + x0 - s_.pad_left) * s_.in_c, x1 - x0);
        std::memset(row + x1 * pitch_, 0, (cols_ - x1) * pitch_ * sizeof(float));
      }
    });
    return {out, cols_, pitch_};
  }

 private:
  void copy_pixels(float* dst, const float* src, int64_t n) const {
    if (pitch_ == s_.in_c) {
      std::memcpy(dst, src, n * s_.in_c * sizeof(float));
      return;
    }
    for (int64_t x = 0; x < n; ++x)
      std::memcpy(dst + x * pitch_, src + x * s_.in_c, s_.in_c * sizeof(float));
  }

  const ConvShape& s_;
  int64_t rows_ = 0, cols_ = 0, pitch_ = 0;
  bool copied_ = false;
  std::shared_ptr<std::byte> scratch_;
};

// Work items are (pixel block) x (panel group). A pixel block is a run of micro-tiles that
// shares the filter panel while it is hot in cache; panels are grouped only as finely as
// needed to give every thread several items.
struct WorkSplit {
  int64_t block_pixels = 0, pixel_blocks = 0;
  int64_t group_panels = 0, panel_groups = 0;
  int64_t items() const { return pixel_blocks * panel_groups; }
};

WorkSplit split_work(int64_t pixels, int64_t num_panels, int tile_pixels, int threads) {
  WorkSplit w;
  w.block_pixels = std::min<int64_t>(pixels, int64_t{tile_pixels} * 8);
  w.pixel_blocks = (pixels + w.block_pixels - 1) / w.block_pixels;
  w.panel_groups = 1;
  const int64_t wanted = int64_t{threads} * 4;
  while (w.pixel_blocks * w.panel_groups < wanted && w.panel_groups < num_panels) ++w.panel_groups;
  w.group_panels = (num_panels + w.panel_groups - 1) / w.panel_groups;
  w.panel_groups = (num_panels + w.group_panels - 1) / w.group_panels;
  return w;
}

// Input channels per reduction pass: all of them while one panel's weights fit comfortably in
// L2 (1 MiB here; every Inception v3 and MobileNet layer does: slicing them measured no
// faster), else slices whose weights take about a quarter of that.
int64_t channel_block(const PackedConvFilter& f) {
  constexpr int64_t kMaxPanelFloats = 256 * 1024, kSliceFloats = 64 * 1024;
  if (f.panel_floats() <= kMaxPanelFloats) return f.in_c;
  const int64_t per_channel = f.k_h * f.k_w * f.panel_width;
  const int64_t slices = (f.in_c * per_channel + kSliceFloats - 1) / kSliceFloats;
  return (f.in_c + slices - 1) / slices;
}

}  // namespace

PackedConvFilter pack_conv_filter(Isa isa, int64_t k_h, int64_t k_w, int64_t in_c, int64_t out_c,
                                  std::span<const float> filter) {
  if (!isa_available(isa)) fail("pack_conv_filter: ISA '", isa_name(isa), "' is not available");
  if (static_cast<int64_t>(filter.size()) != k_h * k_w * in_c * out_c)
    fail("pack_conv_filter: filter has ", filter.size(), " values, expected ",
         k_h * k_w * in_c * out_c);
  PackedConvFilter f;
  f.isa = isa;
  f.k_h = k_h;
  f.k_w = k_w;
  f.in_c = in_c;
  f.out_c = out_c;
  f.panel_width = kernel_for(isa).panel_width;
  f.num_panels = (out_c + f.panel_width - 1) / f.panel_width;
  f.storage = allocate_aligned(f.num_panels * f.panel_floats() * sizeof(float));
  float* out = reinterpret_cast<float*>(f.storage.get());
  const int64_t rows = k_h * k_w * in_c;  // (ky, kx, c) in HWIO order
  for (int64_t p = 0; p < f.num_panels; ++p) {
    const int64_t o0 = p * f.panel_width;
    const int64_t width = std::min(f.panel_width, out_c - o0);
    for (int64_t r = 0; r < rows; ++r) {
      std::memcpy(out + (p * rows + r) * f.panel_width, &filter[r * out_c + o0],
                  width * sizeof(float));
    }
  }
  return f;
}

void conv2d_nhwc(const ConvShape& s, std::span<const float> input, const PackedConvFilter& filter,
                 std::span<const float> bias, Activation act, std::span<float> output,
                 ThreadPool* pool) {
  if (filter.k_h != s.k_h || filter.k_w != s.k_w || filter.in_c != s.in_c ||
      filter.out_c != s.out_c)
    fail("conv2d_nhwc: packed filter does not match the convolution's shape");
  if (static_cast<int64_t>(input.size()) != s.input_size() ||
      static_cast<int64_t>(output.size()) != s.output_size() ||
      (!bias.empty() && static_cast<int64_t>(bias.size()) != s.out_c))
    fail("conv2d_nhwc: input, output or bias size does not match the convolution's shape");
  const int64_t pixels = s.out_h * s.out_w;
  if (pixels == 0 || s.out_c == 0 || s.batch == 0) return;

  const ConvKernelInfo kernel = kernel_for(filter.isa);
  std::vector<float> padded_bias(filter.num_panels * filter.panel_width, 0.f);
  std::copy(bias.begin(), bias.end(), padded_bias.begin());

  // One batch item on `layout`'s scratch, its tiles split over `image_pool`.
  auto run_image = [&](InputLayout& layout, int64_t n, ThreadPool* image_pool,
                       const WorkSplit& split) {
    WindowedImage image = layout.image(input.data() + n * s.in_h * s.in_w * s.in_c, image_pool);
    std::vector<int64_t> taps;
    for (int64_t ky = 0; ky < s.k_h; ++ky)
      for (int64_t kx = 0; kx < s.k_w; ++kx)
        taps.push_back((ky * s.dilation_h * image.row_pixels + kx * s.dilation_w) *
                       image.pixel_floats);

    ConvTileJob job;
    job.input = image.data;
    job.row_pixels = image.row_pixels;
    job.pixel_floats = image.pixel_floats;
    job.in_c = s.in_c;
    job.c_block = channel_block(filter);
    job.out_w = s.out_w;
    job.out_c = s.out_c;
    job.stride_h = s.stride_h;
    job.stride_w = s.stride_w;
    job.tap_offsets = taps;
    job.filter = &filter;
    job.bias = padded_bias.data();
    job.act = act;
    job.output = output.data() + n * pixels * s.out_c;

    parallel_for(image_pool, split.items(), 1, [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; ++item) {
        const int64_t pb = item / split.panel_groups, pg = item % split.panel_groups;
        const int64_t p0 = pb * split.block_pixels, g0 = pg * split.group_panels;
        kernel.run(job, p0, std::min(pixels, p0 + split.block_pixels), g0,
                   std::min(filter.num_panels, g0 + split.group_panels));
      }
    });
  };

  // Below ~2M multiply-adds per image (~20 us on one core) splitting an image's tiles over
  // threads does not pay for waking them: measured on MobileNet v1 0.25_128's layers on the
  // shared 2-core machine, each ran slower on 2 threads than on 1. Such layers run whole
  // images per thread instead (each thread with its own padded-input scratch), or at batch 1
  // on the calling thread alone.
  constexpr int64_t kMinParallelMacs = 2'000'000;
  const bool small = pixels * s.out_c * s.k_h * s.k_w * s.in_c < kMinParallelMacs;
  if (small && s.batch > 1 && pool && pool->size() > 1) {
    const WorkSplit split = split_work(pixels, filter.num_panels, kernel.tile_pixels, 1);
    pool->parallel_for(s.batch, 1, [&](int64_t begin, int64_t end) {
      InputLayout layout(s);
      for (int64_t n = begin; n < end; ++n) run_image(layout, n, nullptr, split);
    });
    return;
  }
  if (small) pool = nullptr;
  const WorkSplit split =
      split_work(pixels, filter.num_panels, kernel.tile_pixels, pool ? pool->size() : 1);
  InputLayout layout(s);
  for (int64_t n = 0; n < s.batch; ++n) run_image(layout, n, pool, split);
}

}  // namespace poet::kernels::x86
