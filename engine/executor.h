// Runs a graph: pick the nodes the fetches need, check every op and shape once at load,
// fold what is constant, then compute the fetches for any number of feeds.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/op.h"

namespace poet {

// How run() uses several threads on a batch (ExecOptions::batch_split).
enum class BatchSplit {
  kAuto,  // split when the graph is per image and the batch has at least one image per thread
          // (one thread: any batch of two or more)
  kOn,    // split any batch of two or more; loading fails if the graph cannot be split
  kOff,   // always run each layer over the whole batch, its work split across the threads
};

struct ExecOptions {
  Backend backend = Backend::kNative;
  // Per op type, a backend replacing `backend` ({"Conv2D", Backend::kOneDnn}; fused forms count
  // as their op, see OpOptions::op_backends).
  std::map<std::string, Backend> op_backends;
  int threads = 0;              // 0: all cores
  bool check_numerics = false;  // keep CheckNumerics checks (they cost a pass over the data)
  bool winograd = true;         // see OpOptions::winograd
  // Rewrite the graph at load (engine/optimize): fold constants and batch norms into
  // convolutions, fuse activations, drop Identity. The reference backend never fuses, so it
  // stays the plain oracle.
  bool optimize = true;
  // Shapes to assume for feeds at load (e.g. a batch size for a [?,224,224,3] placeholder),
  // by feed name; feeds not listed take the shape the graph declares or implies.
  std::map<std::string, PartialShape> feed_shapes;
  // A batch split runs the images (dimension 0 of every feed) one at a time through the whole
  // graph, the threads taking images in turn, with single-threaded kernels; the fetches are
  // joined back. On small graphs it beats splitting each layer: one image's activations stay
  // in cache and the threads never wait for each other between layers; on one thread it
  // still keeps the activations in cache instead of streaming the whole batch's through
  // memory at every layer. Only for the native
  // backend and graphs whose every op keeps images apart (engine/batch_split.h).
  BatchSplit batch_split = BatchSplit::kAuto;
};

// One computed node, as `poet inspect` and `poet bench --per_layer` show it.
struct StepInfo {
  std::string name;
  std::string op;
  std::vector<TensorInfo> outputs;     // without values
  int64_t flops = 0;                   // for the shapes of the last run, or of load when known
  Backend backend = Backend::kNative;  // ExecOptions::backend, or the op's own
};

class Executable {
 public:
  // feeds and fetches are tensor names ("input:0", "Mul", "DecodeJpeg/contents:0").
  Executable(const Graph& graph, std::vector<std::string> feeds, std::vector<std::string> fetches,
             ExecOptions options = {});
  // The same, taking the graph over: weights the executable replaces or packs are freed
  // while it loads instead of staying alive in the caller's copy.
  Executable(Graph&& graph, std::vector<std::string> feeds, std::vector<std::string> fetches,
             ExecOptions options = {});
  ~Executable();
  Executable(Executable&&) noexcept;
  Executable& operator=(Executable&&) noexcept;

  // feeds[i] goes to the i-th feed name; returns one tensor per fetch name.
  std::vector<Tensor> run(std::span<const Tensor> feeds);

  // What is known of each feed and fetch before running (shape, dtype).
  const TensorInfo& feed_info(int i) const;
  const TensorInfo& fetch_info(int i) const;
  std::span<const std::string> feed_names() const;
  std::span<const std::string> fetch_names() const;

  // Whether run() splits a batch of this many images across threads (ExecOptions::batch_split),
  // and if the graph never allows it, why not (empty when it does).
  bool splits_batch(int64_t images) const;
  const std::string& batch_split_blocker() const;

  // The activation arenas planned at load (engine/memory_plan.h), in bytes.
  struct ArenaSizes {
    int64_t bytes = 0;        // shared by every whole-batch run's activations; 0: no arena
    int64_t peak_live = 0;    // the most alive at one step of such a run: no plan needs less
    int64_t image_bytes = 0;  // the same for one image of a split batch (one per image in flight)
  };
  ArenaSizes arena_sizes() const;

  // The nodes that compute at run time, in execution order.
  std::vector<StepInfo> steps() const;
  // Called after each step of run() with its index into steps() and its duration. With a batch
  // split, once per step and image, from the threads running the images (one at a time).
  void set_step_observer(std::function<void(int step, double seconds)> observer);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace poet
