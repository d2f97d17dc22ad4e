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
          // (one thread: any batch of two or more), or any batch of two or more other than the
          // one loaded when a Reshape spells that batch ([1, 2048]), which no other fits whole
  kOn,    // split any batch of two or more; loading fails if the graph cannot be split
  kOff,   // always run each layer over the whole batch, its work split across the threads
};

// How run() uses several threads on a batch it runs whole, one the batch split does not cut
// into images (a batch smaller than the pool, or a graph that mixes images).
//
// Splitting each layer's work costs a hand-off per layer and moves the part of the layer's
// input that the other threads wrote between cores. On large graphs that is small next to the
// layers; on a small graph at batch 1 it can cost more than the second thread saves, by an
// amount that depends on the machine: MobileNet v1 0.25_128 at batch 1 on 2 threads ran 1.3x
// faster split than on one thread on a Zen 3 host and 1.25x slower on a Zen 5 host whose two
// vCPUs are 0.5 us apart (a cache line's round trip), where MobileNet v1 1.0 and Inception v3
// still gained 1.5x from the split. So by default the first runs measure it.
enum class LayerSplit {
  kAuto,  // the first runs of each batch size take the two ways below in turn, each twice in
          // a row and timed the second time (Executable::trial_runs), and the rest take the
          // faster (layer_split_threads), timed again every kLayerSplitPeriod runs; native
          // backend only, others split
  kOn,    // every layer's work is split across the threads
  kOff,   // the batch runs on the calling thread alone
};

// Whether a run whose layers are split over the threads runs the branches of a fork-join
// (engine/branches.h: Inception's towers) side by side instead, each layer of a branch on one
// thread (ExecOptions::parallel_branches). Native backend only.
//
// Side by side, a branch's layers run 6-17% slower than alone on one thread (the block's
// input is read from both cores, and the L3 is shared), so only blocks whose branches balance
// gain: on Inception v3 at batch 1 on 2 threads (Zen 5, 2 vCPUs), mixed_5 to mixed_7 took
// 0.80-0.96 of their split time, the 35x35 blocks and mixed_4 0.8-1.15, and the blocks led by
// one large branch (mixed_3, mixed_8 to mixed_10) 1.0-1.5. Which way wins also moves with the
// host, so by default the first runs measure it per block.
enum class ParallelBranches {
  kAuto,  // where LayerSplit::kAuto's trials time them faster: its first runs take a third
          // way, every region's branches side by side (Executable::trial_runs), and each
          // region keeps the faster of that and its split layers; none with LayerSplit::kOn,
          // which runs no trials
  kOn,    // every fork-join's (LayerSplit::kAuto's trials time its split way so too)
  kOff,   // none: every layer split
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
  // With the optimiser and native depthwise and 1x1 convolutions: a depthwise convolution and
  // the small 1x1 convolution that alone reads it, and the layers before them whose outputs
  // outgrow the caches, run as one layer, a few rows at a time through every layer
  // (engine/optimize/conv_chain.cc).
  bool fuse_depthwise_pointwise = true;
  // Shapes to assume for feeds at load (e.g. a batch size for a [?,224,224,3] placeholder),
  // by feed name; feeds not listed take the shape the graph declares or implies.
  std::map<std::string, PartialShape> feed_shapes;
  // Added to the error for a Placeholder the fetches need but no feed stands for: how the
  // caller's user feeds a tensor ("use --feed"); empty adds nothing.
  std::string unfed_hint;
  // A batch split runs the images (dimension 0 of every feed) one at a time through the whole
  // graph, the threads taking images in turn, with single-threaded kernels; the fetches are
  // joined back. On small graphs it beats splitting each layer: one image's activations stay
  // in cache and the threads never wait for each other between layers; on one thread it
  // still keeps the activations in cache instead of streaming the whole batch's through
  // memory at every layer. Where the images have shrunk and the weights have not (a network's
  // last layers and its logits), each thread runs a group of images one at a time up to
  // there and the last steps over the group, reading their weights once per group
  // (engine/batch_split.h: PerImagePlan's grouped tail). Only for the native
  // backend and graphs whose every op keeps images apart (engine/batch_split.h).
  BatchSplit batch_split = BatchSplit::kAuto;
  LayerSplit layer_split = LayerSplit::kAuto;
  ParallelBranches parallel_branches = ParallelBranches::kAuto;

  // Every op on the native backend, as the batch split, the layer split's timing and branches
  // side by side need: oneDNN threads itself, and the reference backend is the plain oracle.
  bool native_only() const;
};

// One computed node, as `poet inspect` and `poet bench --per_layer` show it.
struct StepInfo {
  std::string name;
  std::string op;
  std::vector<TensorInfo> outputs;     // without values
  int64_t flops = 0;                   // for the shapes of the last run, or of load when known
  Backend backend = Backend::kNative;  // ExecOptions::backend, or the op's own
};

// A step's time in one run: its wall time, and the time the threads spent on it. On one
// thread they are equal; split over a pool, the thread time is the calling thread's wall time
// less its waits for the other threads' last chunks, plus their time in chunks
// (ThreadPool::Usage): up to threads x seconds, short of it by what the split left idle.
struct StepTime {
  double seconds = 0;
  double thread_seconds = 0;

  // Sums a step's times over runs.
  StepTime& operator+=(const StepTime& t) {
    seconds += t.seconds;
    thread_seconds += t.thread_seconds;
    return *this;
  }
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

  // Whether run() splits a batch of this many images across threads (ExecOptions::batch_split),
  // and if the graph never allows it, why not (empty when it does).
  bool splits_batch(int64_t images) const;
  // How many of the last steps a split batch runs over groups of up to
  // PerImagePlan::kTailGroup images instead of one at a time (engine/batch_split.h), 0: none.
  int64_t tail_steps() const;
  const std::string& batch_split_blocker() const;
  // Why --batch_split on would be refused for this graph and backend (the node that mixes the
  // images, or a backend other than native), whatever the split this executable was built
  // with; empty if it would run.
  std::string why_no_batch_split() const;

  // Timed runs of each way that LayerSplit::kAuto takes before it chooses, and how often (in
  // runs of one batch size) it times them again.
  static constexpr int kLayerSplitTrials = 3;
  static constexpr int kLayerSplitPeriod = 1000;
  // The threads LayerSplit::kAuto keeps, given each way's fastest trial in seconds: one thread
  // only when it was faster and its runs are short (kLayerSplitShortRun). Over a longer run the
  // hand-offs (about 1 us per layer) weigh little next to half the work, so a split that
  // trailed can only have met a passing stall of the other vCPU: on the Zen 5 host one of six
  // benchmark runs of the Inception v3 replica at batch 1 kept one thread that way, for the
  // next 1000 runs (22 against 35-41 images/s).
  static constexpr double kLayerSplitShortRun = 1e-3;
  static int layer_split_threads(double split_seconds, double one_thread_seconds, int threads);
  // The threads run(feeds) spreads each layer over when it runs them as one batch
  // (ExecOptions::layer_split): the pool's size or 1, or 0 while the first runs of a batch of
  // that size are still timing both ways.
  int layer_threads(std::span<const Tensor> feeds) const;
  // The fork-joins whose branches could run side by side (engine/branches.h), and how many of
  // them do in a run of `feeds` whose layers are split (ExecOptions::parallel_branches).
  struct BranchUse {
    int regions = 0, side_by_side = 0;
  };
  BranchUse branch_use(std::span<const Tensor> feeds) const;
  // The runs of a batch size that LayerSplit::kAuto takes before it chooses: two ways, or three
  // when it also times parallel branches (ParallelBranches), each run twice in a row
  // kLayerSplitTrials times. Each way is timed the second time, from the caches as its own runs
  // leave them: a run's first layers read what the run before wrote, and another way leaves it
  // on other cores (timed right after a run of another way, which of Inception v3's 35x35
  // blocks ran faster side by side changed with the order of the ways).
  int trial_runs() const;

  // The activation arenas (engine/memory_plan.h), in bytes: planned at load, or where the load
  // left sizes open (a batch of -1), from the runs so far (GrowingArena).
  struct ArenaSizes {
    int64_t bytes = 0;        // shared by every whole-batch run's activations; 0: no arena
    int64_t peak_live = 0;    // the most alive at one step of such a run: no plan needs less
    int64_t image_bytes = 0;  // the same for one image of a split batch (one per image in flight)
    int64_t tail_bytes = 0;   // for a group of images in a grouped tail (tail_steps), 0: none
  };
  ArenaSizes arena_sizes() const;

  // The nodes that compute at run time, in execution order.
  std::vector<StepInfo> steps() const;
  // Called after each step of run() with its index into steps() and its time. With a batch
  // split, once per step and image (and group, in a grouped tail), from the threads running
  // them.
  void set_step_observer(std::function<void(int step, const StepTime& time)> observer);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace poet
