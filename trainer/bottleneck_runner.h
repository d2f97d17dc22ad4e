// Bottlenecks from a network, fast: images are decoded and preprocessed with poet's own
// image_input (the same kernels as the graph's DecodeJpeg/ResizeBilinear/Sub/Mul, so the
// values equal feeding the graph its JPEG bytes) and pushed through the network in batches of
// several images per forward pass, while a worker thread decodes the next batch.
//
// Batching needs a free batch dimension between the input and the bottleneck, or a graph that
// the executor can run image by image. The input's declared batch (MobileNet's
// [1,128,128,3]) is overridden. When a node downstream fixes the batch at 1 (Inception v3 2015
// reshapes pool_3 to [1, 2048]), the graph is built for one image and takes each batch image
// by image across the threads (ExecOptions::batch_split); where it cannot (--batch_split off),
// the runner falls back to one image per pass and says so in batch_note().
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/executor.h"
#include "engine/graph.h"
#include "engine/image_input.h"
#include "engine/thread_pool.h"
#include "trainer/dataset.h"
#include "trainer/distort.h"

namespace poet::trainer {

struct BottleneckModel {
  std::string input_tensor;       // normalised images [N, H, W, 3] go here
  std::string bottleneck_tensor;  // [N, bottleneck_size] (or [1, size] per image)
  int bottleneck_size = 0;
  ImageInputSpec spec;
};

class BottleneckRunner {
 public:
  using Warn = std::function<void(const std::string& message)>;
  using Reload = std::function<Graph()>;

  // The graph is built on first use (run(), batch(), batch_note()), so a retrain whose
  // bottlenecks are all cached never builds it; only a bottleneck of unknown size
  // (model.bottleneck_size 0) is built at once, to read the size off it. The tensor names are
  // checked at once either way. `warn` gets batch_note() when the build sets one.
  // With `reload` (which reads the graph again), the first build takes `graph` over: the
  // weights it packs or folds are freed as it loads, instead of staying beside their packed
  // copies (Inception v3: 90 MB); a later build, or graph(), reads the graph again. Without
  // it, each build copies `graph`, whose buffers the copies share.
  BottleneckRunner(Graph graph, const BottleneckModel& model, int batch, ExecOptions options,
                   Warn warn = {}, Reload reload = {});

  // The graph as given: kept, or read again if a build took it over.
  Graph graph() const;

  // Frees the built graph and its packed weights; the next run builds it again.
  void release() { exe_.reset(); }

  // The images per pass, and, when it fell to 1, why (empty otherwise). Build the graph.
  int batch();
  const std::string& batch_note();
  const ImageInputSpec& spec() const { return model_.spec; }
  int bottleneck_size() const { return model_.bottleneck_size; }

  // images: float32 [n, H, W, 3], n at most batch(); one bottleneck per image, in order.
  std::vector<std::vector<float>> run_batch(const Tensor& images);
  // inputs: float32 [1, H, W, 3] each, any number, run batch() at a time; one bottleneck per
  // input, in order.
  std::vector<std::vector<float>> run(std::span<const Tensor> inputs);
  // The bottleneck of one image file (decode, preprocess, run).
  std::vector<float> image_bottleneck(const std::string& path);
  // The bottleneck of one preprocessed input [1, H, W, 3].
  std::vector<float> input_bottleneck(const Tensor& input);

 private:
  // The built graph, building it on the first call.
  Executable& executable();
  // The graph, as fast a form as `batch_` allows; sets batch_ and batch_note_.
  Executable load();
  // The graph for one build: taken over when it can be read again, else a copy.
  Graph source();

  std::optional<Graph> graph_;  // until a build takes it over
  Reload reload_;
  ExecOptions options_;
  Warn warn_;
  BottleneckModel model_;
  int batch_;
  std::string batch_note_;
  std::optional<Executable> exe_;
};

// Reads and decodes an image of --image_dir, uint8 [h, w, 3]; a file that cannot be decoded is
// an Error naming it and saying what to do (retrain.py would stop with TensorFlow's decoder
// error).
Tensor decode_training_image(const std::string& path);
// The same, preprocessed for the network: [1, H, W, 3], or into `out`, one image's place in a
// batch.
Tensor read_training_image(const std::string& path, const ImageInputSpec& spec);
void read_training_image(const std::string& path, const ImageInputSpec& spec, std::span<float> out);

struct CacheFill {
  size_t computed = 0;  // files written
  size_t reused = 0;    // valid files found
  double seconds = 0;
};

// Makes sure every image of the dataset has a valid bottleneck file
// (<bottleneck_dir>/<folder>/<file>_<architecture>.txt, written atomically): valid files are
// kept, missing or invalid ones (warned about) computed in batches. progress(done, total) is
// called after each batch with the number computed so far and the number to compute.
CacheFill fill_bottleneck_cache(const Dataset& dataset, const std::string& bottleneck_dir,
                                const std::string& architecture, BottleneckRunner& runner,
                                const std::function<void(size_t done, size_t total)>& progress,
                                const std::function<void(const std::string&)>& warn);

// A training step's distorted images (retrain.py's random distortions): the draws first, in
// order from `random` (so a seed repeats the run), then batch() images at a time decoded and
// distorted across the pool's threads, each straight into its place in the batch fed, and the
// batch run. A file that fails stops the run with the first such error in the paths' order.
std::vector<std::vector<float>> distorted_bottlenecks(std::span<const std::string> paths,
                                                      const DistortOptions& options,
                                                      BottleneckRunner& runner, Random& random,
                                                      ThreadPool& pool);

}  // namespace poet::trainer
