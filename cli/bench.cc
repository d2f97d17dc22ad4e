// poet bench: how fast a graph runs here, layer by layer, against the machine's FMA peak
// (measured, not looked up: one thread of independent FMAs per ISA).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <thread>

#include <sys/resource.h>

#include "cli/common.h"
#include "engine/batch_split.h"
#include "engine/image_codec.h"
#include "engine/thread_pool.h"
#include "kernels/x86/cpu_features.h"
#include "kernels/x86/fma_peak.h"

namespace poet::cli {
namespace {

namespace x86 = kernels::x86;
using Clock = std::chrono::steady_clock;

// The bytes of --image for a string input (read_image_bytes, as classify and label feed them).
// Decoded once here, so that bad data is an error naming the file rather than the graph's
// DecodeJpeg node.
Tensor image_bytes(const Flags& flags) {
  if (!flags.given("image")) fail("--input_layer is a string tensor: give --image FILE.jpg");
  const std::string path = flags.str("image");
  Tensor bytes = read_image_bytes(path);
  decode_image(bytes.strings()[0], 0, "--image " + path);
  return bytes;
}

// Deterministic input for the fed tensor: uniform [-1, 1) floats, or the JPEG bytes of --image.
Tensor make_input(const TensorInfo& info, const std::string& input, int64_t batch,
                  const Flags& flags) {
  if (info.dtype == DType::kString) return image_bytes(flags);
  // Decoding, resizing and scaling an image would only change the values, not the time.
  if (flags.given("image"))
    fail("--image: input '", input, "' is ", dtype_name(info.dtype),
         ", which bench fills with random values; --image is for a string input of JPEG bytes "
         "(DecodeJpeg/contents)");
  if (info.dtype != DType::kFloat32)
    fail("--input_layer: poet bench feeds float32 or string tensors, not ", dtype_name(info.dtype));
  if (!info.shape.fully_known())
    fail("--input_layer: the graph leaves the shape of input '", input, "' open, ",
         info.shape.str(), ": give its dims after the batch with --input_shape (e.g. 299,299,3)");
  Shape shape = info.shape.known();
  if (!shape.empty()) shape[0] = batch;  // a graph built for one image takes a batch too
  Tensor t(DType::kFloat32, std::move(shape));
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (float& v : t.data<float>()) v = u(rng);
  return t;
}

// "299,299,3" -> [batch placeholder, 299, 299, 3].
Shape parse_dims(const std::string& text) {
  Shape dims = {1};
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, comma - pos);
    char* end = nullptr;
    const long long d = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || d < 1 || d > 1'000'000)
      fail("--input_shape: expected positive dims separated by commas, got '", text, "'");
    dims.push_back(d);
    pos = comma + 1;
  }
  return dims;
}

// CPU seconds this process has used so far, all threads, user and system.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Peak resident memory so far (getrusage; Linux reports KiB), in MB.
double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

// Resident memory now (Linux /proc/self/statm), in MB; 0 where unavailable.
double resident_mb() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  long long pages = 0, resident = 0;
  const bool ok = std::fscanf(f, "%lld %lld", &pages, &resident) == 2;
  std::fclose(f);
  return ok ? resident * 4096.0 / (1024 * 1024) : 0;
}

struct Peak {
  double per_thread = 0;           // GFLOP/s of the ISA the kernels use
  x86::Isa isa = x86::Isa::kAvx2;  // the ISA measured for per_thread
  int threads = 1;
  double total() const { return per_thread * threads; }
};

// `threads`: the pool's; more than the machine's hardware threads share them, so the peak is
// the hardware's.
Peak measure_peak(int threads) {
  Peak peak;
  // hardware_concurrency() is 0 where the count is unknown: then the pool's is taken.
  const int hardware = static_cast<int>(std::thread::hardware_concurrency());
  peak.threads = hardware > 0 ? std::min(threads, hardware) : threads;
  // The L1's ways decide how the convolutions read 1024-channel images (InputSpacing). Some
  // hosts' CPUID lists no caches (0 ways).
  const int ways = x86::cpu_features().l1d_ways;
  std::printf(
      "machine: %u hardware threads, %s; FMA peak per thread:", std::thread::hardware_concurrency(),
      ways > 0 ? str_cat("L1d ", ways, "-way").c_str() : "L1d ways unknown (CPUID lists none)");
  for (x86::Isa isa : {x86::Isa::kAvx512, x86::Isa::kAvx2}) {
    if (!x86::isa_available(isa)) continue;
    double g = x86::measure_fma_peak(isa);
    std::printf(" %s %.1f GFLOP/s", std::string(x86::isa_name(isa)).c_str(), g);
    if (isa == x86::active_isa() || (peak.per_thread == 0 && x86::active_isa() == x86::Isa::kRef)) {
      peak.per_thread = g;
      peak.isa = isa;
    }
  }
  std::printf("\n");
  return peak;
}

// The FMA peak again after the runs, against `before`'s: on a shared host another tenant can
// slow the cores for seconds at a time (on 2026-12-06 two Inception v3 runs took 1.7x the CPU
// time of their neighbours for 15 s), and a reading taken then measures the host, not poet.
void print_peak_after(const Peak& before, double after) {
  const double share = after / before.per_thread;
  std::printf("FMA peak after the runs: %.1f GFLOP/s per thread (%.0f%% of before)%s\n", after,
              100 * share,
              share < 0.9 ? "; the cores ran slower than at the start: compare with care" : "");
}

// A step's FLOP in a run of `batch` images. StepInfo::flops counts the batch the executable was
// built for: one image where the graph fixes the batch (build_executable).
double run_flops(const Executable& exe, const StepInfo& step, int64_t batch) {
  const PartialShape& fed = exe.feed_info(0).shape;
  const bool known = fed.known_rank && fed.rank() > 0 && fed.dim(0) > 0;
  return known ? static_cast<double>(step.flops) * batch / fed.dim(0)
               : static_cast<double>(step.flops);
}

// A split batch (Executable::splits_batch) ran image by image on the threads, so a layer's time is
// summed over the images (thread time) and its GFLOP/s is one thread's, against one thread's peak.
// Otherwise the last column, "threads", is how many threads the layer kept busy on average
// (StepTime::thread_seconds over its wall time): 1.00 on one thread, short of the pool's size
// by what the split left idle; "-" for oneDNN's layers, which run on oneDNN's own threads.
// `times`: each step's time summed over the timed runs.
void print_layers(const Executable& exe, std::span<const StepTime> times, int64_t runs,
                  const Peak& peak, Backend default_backend, int64_t batch) {
  const bool split = exe.splits_batch(batch);
  const double layer_peak = split ? peak.per_thread : peak.total();
  if (split)
    std::printf("\nper layer: thread time summed over the images, %% of one thread's peak");
  std::printf("\n  %-52s %-28s %-18s %9s %9s %7s%s\n", "layer", "op", "output", "ms", "GFLOP/s",
              "%peak", split ? "" : " threads");
  std::vector<StepInfo> steps = exe.steps();
  bool over_peak = false;
  for (size_t i = 0; i < steps.size(); ++i) {
    const double seconds = times[i].seconds;
    double ms = seconds / static_cast<double>(runs) * 1e3;
    double gflops = ms > 0 ? run_flops(exe, steps[i], batch) / (ms * 1e6) : 0;
    std::string shape = steps[i].outputs.empty() ? "" : steps[i].outputs[0].shape.str();
    // A layer sent to another backend than the run's (--backend_op) says which.
    std::string op = steps[i].op;
    if (steps[i].backend != default_backend)
      op += "@" + std::string(backend_name(steps[i].backend));
    std::printf("  %-52s %-28s %-18s %9.3f %9.1f %6.1f%%", steps[i].name.c_str(), op.c_str(),
                shape.c_str(), ms, gflops, 100 * gflops / layer_peak);
    over_peak |= gflops > layer_peak;
    if (!split) {
      const double threads = seconds > 0 ? times[i].thread_seconds / seconds : 0.0;
      if (steps[i].backend == Backend::kOneDnn) {
        std::printf(" %7s", "-");
      } else {
        std::printf(" %7.2f", threads);
      }
    }
    std::printf("\n");
  }
  if (over_peak)
    std::printf(
        "(GFLOP/s count a direct convolution's multiply-adds: a layer Winograd computes with "
        "fewer, or one timed while the cores ran faster than when the peak was measured, can "
        "pass 100%% of the peak)\n");
}

// The shape the graph computes at `input` when it is not a Placeholder (Inception v3's Mul:0,
// after the JPEG pipeline): the shape inferred with the pipeline's sources (Placeholders, and
// string Consts such as DecodeJpeg/contents) fed instead.
PartialShape computed_shape(const Graph& graph, const std::string& input, ExecOptions options) {
  Endpoint e = graph.endpoint(input);
  std::vector<std::string> sources;
  for (int n : graph.needed_nodes(std::span(&e, 1), {})) {
    const Node& node = graph.node(n);
    bool string_const = node.op == "Const" && node.has_attr("value") &&
                        node.attr_tensor("value").dtype() == DType::kString;
    if (n != e.node && (node.op == "Placeholder" || string_const))
      sources.push_back(node.name + ":0");
  }
  try {
    return Executable(graph, sources, {input}, options).fetch_info(0).shape;
  } catch (const Error&) {
    return {};  // the caller reports the unknown shape
  }
}

// How the executable holds a run's activations: one arena, or one per image in flight.
void describe_arena(const Executable& exe, int64_t batch) {
  if (exe.splits_batch(batch)) {
    const Executable::ArenaSizes arenas = exe.arena_sizes();
    std::printf("batch split: each thread runs one image at a time through the graph");
    if (exe.tail_steps() > 0)
      std::printf(", the last %lld steps over groups of up to %lld images",
                  static_cast<long long>(exe.tail_steps()),
                  static_cast<long long>(PerImagePlan::kTailGroup));
    std::printf("\nactivation arena: %.1f MB per image in flight",
                static_cast<double>(arenas.image_bytes) / 1e6);
    if (exe.tail_steps() > 0)
      std::printf(", %.1f MB per group", static_cast<double>(arenas.tail_bytes) / 1e6);
    std::printf("\n");
  } else {
    if (!exe.batch_split_blocker().empty())
      std::printf("batch split: no, %s\n", exe.batch_split_blocker().c_str());
    std::printf("activation arena: %.1f MB\n", static_cast<double>(exe.arena_sizes().bytes) / 1e6);
  }
}

// " (onednn)" after the lines about one backend's executable when bench runs two (--against).
std::string backend_label(Backend backend, bool two) {
  return two ? " (" + std::string(backend_name(backend)) + ")" : "";
}

// Whether every layer runs the reference kernels, which take one thread whatever the pool.
bool all_reference(const Executable& exe) {
  return std::ranges::all_of(exe.steps(),
                             [](const StepInfo& s) { return s.backend == Backend::kReference; });
}

// What the threads do with a batch run whole: each layer split over them, or each on one
// thread (--layer_split, or the reference kernels); and with the layers split, or on the
// reference backend, how many fork-joins ran their branches side by side (returned).
int describe_layers(const Executable& exe, std::span<const Tensor> feeds, const Flags& flags,
                    const std::string& label) {
  const bool reference = all_reference(exe);
  const bool split = !reference && exe.layer_threads(feeds) != 1;
  if (reference) {
    std::printf("layers%s: each on one thread (the reference kernels take one)\n", label.c_str());
  } else {
    std::printf("layers%s: %s (--layer_split %s)\n", label.c_str(),
                split ? "each split over the threads" : "each on one thread",
                flags.str("layer_split").c_str());
  }
  const Executable::BranchUse branches = exe.branch_use(feeds);
  if (!(split || reference) || branches.regions == 0) return 0;
  std::printf("parallel branches%s: side by side in %d of %d fork-joins (--branches %s)\n",
              label.c_str(), branches.side_by_side, branches.regions,
              flags.str("branches").c_str());
  return branches.side_by_side;
}

// Packs weights, touches buffers, and lets --layer_split auto time its ways (layer_threads
// is 0 until it has chosen; a split batch never asks it). `label`: backend_label. Returns the
// fork-joins whose branches the runs take side by side (--branches).
int warm_up(Executable& exe, std::span<const Tensor> feeds, int64_t batch, int threads,
            const Flags& flags, const std::string& label) {
  const bool whole = !exe.splits_batch(batch);
  exe.run(feeds);
  for (int i = 1; whole && exe.layer_threads(feeds) == 0 && i < exe.trial_runs(); ++i)
    exe.run(feeds);
  return whole && threads > 1 ? describe_layers(exe, feeds, flags, label) : 0;
}

// The timed runs' seconds: their count, sum and fastest, and for the median a sample of at most
// kMaxSamples (when full, every other one goes and from then on every other run is kept, so
// the sample stays spread over the whole time). A fetch that takes a microsecond ran millions
// of times within --seconds, and each run's time was kept.
class RunTimes {
 public:
  static constexpr size_t kMaxSamples = size_t{1} << 16;

  void add(double seconds) {
    if (count_ % stride_ == 0) samples_.push_back(seconds);
    ++count_;
    total_ += seconds;
    fastest_ = count_ == 1 ? seconds : std::min(fastest_, seconds);
    if (samples_.size() < kMaxSamples) return;
    for (size_t i = 0; i < samples_.size() / 2; ++i) samples_[i] = samples_[2 * i];
    samples_.resize(samples_.size() / 2);
    stride_ *= 2;
  }
  int64_t count() const { return count_; }
  double total() const { return total_; }
  double fastest() const { return fastest_; }
  double median() const {
    std::vector<double> sorted = samples_;
    std::ranges::nth_element(sorted,
                             sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2));
    return sorted[sorted.size() / 2];
  }

 private:
  std::vector<double> samples_;
  int64_t count_ = 0, stride_ = 1;
  double total_ = 0, fastest_ = 0;
};

// One executable's timed runs.
struct Timed {
  Timed(Executable& e, Backend b) : exe(&e), backend(b), layer_times(e.steps().size()) {}
  Executable* exe;
  Backend backend;
  std::vector<StepTime> layer_times;  // each step's time summed over the runs
  RunTimes run_times;
  // The clock's time over the timed runs, with the work between them: images/s is measured on
  // it, as the peers' loops measure theirs (a thread that lost its core between two runs,
  // which the runs' own times leave out, cost 20-40% of a loaded host's time).
  double wall_seconds = 0;
  double cpu_seconds = 0;  // all threads, over the runs
  bool counting = false;   // whether the run going on is timed
  int side_by_side = 0;    // fork-joins whose branches ran side by side (warm_up)

  int64_t runs() const { return run_times.count(); }
  double mean_seconds() const { return wall_seconds / static_cast<double>(runs()); }
};

// With two executables, each runs in turns of about this long, whose first run is not timed:
// it finds the caches holding the other's weights and activations, where runs one after the
// other find some of their own (Inception v3's activations, 8 MB, partly in the L3). Turns
// this short still alternate faster than the shared machine's speed drifts.
constexpr double kTurnSeconds = 0.25;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Times one run of `t`'s executable, added to its run times when `counted`.
void time_run(Timed& t, std::span<const Tensor> feeds, bool counted) {
  t.counting = counted;
  const Clock::time_point start = Clock::now();
  t.exe->run(feeds);
  if (counted) t.run_times.add(seconds_since(start));
}

// Runs `t` at least `min_runs` times and until `seconds` have passed on the clock, counted: its
// clock and CPU time are the turn's, the work between runs included, as the peers' loops count
// theirs. A turn ends by the clock, not by a count taken from its first run: a host that slows
// after that run would stretch the turn (and --seconds) many times over.
void time_turn(Timed& t, std::span<const Tensor> feeds, double seconds, int64_t min_runs) {
  const int64_t runs_before = t.runs();
  const double cpu_start = cpu_seconds();
  const Clock::time_point start = Clock::now();
  do {
    time_run(t, feeds, true);
  } while (t.runs() - runs_before < min_runs || seconds_since(start) < seconds);
  t.wall_seconds += seconds_since(start);
  t.cpu_seconds += cpu_seconds() - cpu_start;
}

// Runs each executable at least 3 times and until `budget` seconds have passed on the clock
// (not only inside the runs: a run of a microsecond spent most of the loop's time outside it, and
// the loop ran ten times --seconds): one executable in one turn; two in turns ABBA (so that
// neither always runs first after the other), each turn's first run untimed. Layers are timed
// only when their table is asked for: timed, every step and every loop of the pool reads clocks
// during the runs that images/s measures.
void time_runs(std::vector<Timed>& timed, std::span<const Tensor> feeds, double budget,
               bool per_layer) {
  if (per_layer) {
    for (Timed& t : timed)
      t.exe->set_step_observer([&t](int step, const StepTime& s) {
        if (t.counting) t.layer_times[step] += s;
      });
  }
  if (timed.size() == 1) return time_turn(timed[0], feeds, budget, 3);
  const int n = static_cast<int>(timed.size());
  const Clock::time_point start = Clock::now();
  for (int round = 0; round < 3 || seconds_since(start) < budget; ++round) {
    for (int k = 0; k < n; ++k) {
      Timed& t = timed[round % 2 == 0 ? k : n - 1 - k];
      // A pool's workers spin for a while after a run before they sleep; let them, so that
      // they do not take cores from the other executable's first layers.
      std::this_thread::sleep_for(2 * ThreadPool::kSpin);
      time_run(t, feeds, false);
      time_turn(t, feeds, kTurnSeconds, 1);
    }
  }
}

// --against's table: each layer's time on both backends and their ratio, for the steps both
// executables have under the same name and op. A step that one backend's optimiser formed
// differently (native's fused depthwise and 1x1 pairs) has "-" on the other side, and the other
// backend's steps it replaced follow the table. `split_a`, `split_b`: whether each ran the batch
// image by image, its times then thread time summed over the images (print_layers); where only
// one did, the two columns measure different things and get no ratio.
void print_layers_against(const Timed& a, const Timed& b, bool split_a, bool split_b) {
  const std::string name_a(backend_name(a.backend)), name_b(backend_name(b.backend));
  if (split_a && split_b) std::printf("\nper layer: thread time summed over the images");
  const bool ratios = split_a == split_b;
  if (!ratios)
    std::printf(
        "\nper layer: %s's times are thread time summed over the images, %s's wall time "
        "(no ratios)",
        (split_a ? name_a : name_b).c_str(), (split_a ? name_b : name_a).c_str());
  std::printf("\n  %-52s %-28s %-18s %9s %9s %9s\n", "layer", "op", "output",
              (name_a + " ms").c_str(), (name_b + " ms").c_str(), (name_b + "/" + name_a).c_str());
  const std::vector<StepInfo> steps_a = a.exe->steps(), steps_b = b.exe->steps();
  std::map<std::pair<std::string, std::string>, size_t> index_b;  // (name, op) -> step
  for (size_t i = 0; i < steps_b.size(); ++i) index_b[{steps_b[i].name, steps_b[i].op}] = i;
  std::vector<bool> matched(steps_b.size(), false);
  auto ms = [](const Timed& t, size_t step) {
    return t.layer_times[step].seconds / static_cast<double>(t.runs()) * 1e3;
  };
  auto row = [](const StepInfo& s) {
    const std::string shape = s.outputs.empty() ? "" : s.outputs[0].shape.str();
    std::printf("  %-52s %-28s %-18s", s.name.c_str(), s.op.c_str(), shape.c_str());
  };
  for (size_t i = 0; i < steps_a.size(); ++i) {
    row(steps_a[i]);
    const double ma = ms(a, i);
    const auto match = index_b.find({steps_a[i].name, steps_a[i].op});
    if (match == index_b.end()) {
      std::printf(" %9.3f %9s %9s\n", ma, "-", "-");
      continue;
    }
    const double mb = ms(b, match->second);
    if (ratios) {
      std::printf(" %9.3f %9.3f %9.2f\n", ma, mb, ma > 0 ? mb / ma : 0.0);
    } else {
      std::printf(" %9.3f %9.3f %9s\n", ma, mb, "-");
    }
    matched[match->second] = true;
  }
  for (size_t i = 0; i < steps_b.size(); ++i) {
    if (matched[i]) continue;
    row(steps_b[i]);
    std::printf(" %9s %9.3f %9s\n", "-", ms(b, i), "-");
  }
}

// Runs, times and throughput of one executable; with `two` (--against), saying whose.
void print_summary(const Timed& t, int64_t batch, const Peak& peak, bool two) {
  const std::string who = backend_label(t.backend, two);
  double flops = 0;
  for (const StepInfo& s : t.exe->steps()) flops += run_flops(*t.exe, s, batch);
  const double per_run = t.mean_seconds();
  std::printf(
      "\nruns%s: %lld in %.2f s (%.2f s inside them), %.3f ms per run, %.3f GFLOP per run\n",
      who.c_str(), static_cast<long long>(t.runs()), t.wall_seconds, t.run_times.total(),
      per_run * 1e3, flops / 1e9);
  // On a shared machine the mean carries other tenants' bursts; the median and the fastest
  // run are steadier for comparing two builds.
  const double median = t.run_times.median(), fastest = t.run_times.fastest();
  std::printf("per run: median %.3f ms, fastest %.3f ms (images/s %.1f and %.1f)\n", median * 1e3,
              fastest * 1e3, batch / median, batch / fastest);
  // On a shared machine, one thread's CPU time per run is what waiting for a core does not
  // inflate (with more threads it also counts the pool's spinning between layers).
  std::printf("cpu: %.3f ms per run, all threads\n",
              t.cpu_seconds / static_cast<double>(t.runs()) * 1e3);
  const double gflops = flops / per_run / 1e9;
  std::printf("GFLOP/s: %.1f (%.1f%% of %.1f peak on %d threads)\n", gflops,
              100 * gflops / peak.total(), peak.total(), peak.threads);
  std::printf("memory after the runs: resident %.1f MB\n", resident_mb());
  if (two) std::printf("images/s%s: %.1f\n", who.c_str(), batch / per_run);
}

// A node may write a batch of one into the graph (Inception v3 2015 reshapes pool_3 to
// [1, 2048], MobileNet's frozen graphs their predictions to [1, 1001]). Built for one image, such
// a graph still takes a batch that the executor runs image by image (ExecOptions::batch_split):
// that executable, from the graph read again (the failed build took the first), or an error
// that adds why not to `whole`, the error of the build for the whole batch.
Executable one_image_executable(const Flags& flags, const std::string& input,
                                const std::string& fetch, int64_t batch, ExecOptions& options,
                                const Error& whole) {
  options.feed_shapes[input].dims[0] = 1;
  std::string why_not;
  try {
    Executable one(load_graph(flags.required("graph")), {input}, {fetch}, options);
    if (one.splits_batch(batch)) {
      std::printf("batch: the graph fixes it at 1, so it is built for one image\n");
      return one;
    }
    why_not = one.batch_split_blocker();
  } catch (const Error& e) {
    why_not = e.what();
  }
  if (why_not.empty()) throw whole;  // not a batch the graph fixes
  fail(whole.what(), "; built for one image, the graph would take the batch image by image, but ",
       why_not);
}

// Whether `fetch` is `input` or is computed from it. One that is not (a constant) computes the
// same whatever is fed: --batch, --input_shape and images/s would mean nothing.
bool reads_input(const Graph& graph, const std::string& input, const std::string& fetch) {
  const Endpoint in = graph.endpoint(input), out = graph.endpoint(fetch);
  if (in == out) return true;
  for (int n : graph.needed_nodes(std::span(&out, 1), std::span(&in, 1)))
    if (std::ranges::find(graph.node(n).inputs, in) != graph.node(n).inputs.end()) return true;
  return false;
}

// The fed tensor's shape as the graph gives it: declared, or computed from the pipeline before
// it (computed_shape) where the declared one is open.
PartialShape graph_shape(const Graph& graph, const std::string& input, const ExecOptions& options) {
  // The probe packs no weights, which would count in the peak RSS (Inception v3: 234 MB
  // instead of 152).
  PartialShape shape = declared_shape(graph, input, options);
  if (!shape.fully_known()) {
    PartialShape computed = computed_shape(graph, input, options);
    if (computed.known_rank) shape = computed;
  }
  return shape;
}

// --input_shape's dims, for a graph that leaves them open: a rank or a dim after the batch
// that contradicts the graph's `declared` shape is an error (the run used to take the flag's
// and fail deep inside, or compute something else than the graph's).
PartialShape given_shape(const Flags& flags, const PartialShape& declared,
                         const std::string& input) {
  const PartialShape given = parse_dims(flags.str("input_shape"));
  bool agree = !declared.known_rank || declared.rank() == given.rank();
  for (int i = 1; agree && i < given.rank(); ++i)
    agree = declared.dim(i) < 0 || declared.dim(i) == given.dim(i);
  if (!agree)
    fail("--input_shape ", flags.str("input_shape"), ": the graph declares input '", input, "' ",
         declared.str(),
         "; --input_shape gives the dims after the batch, and only those it leaves "
         "open (?) may differ");
  return given;
}

// The executable bench times. The loaded graph goes once it is built: it holds the file's
// weights, which the executable has folded, fused or packed into its own copies. Sets the fed
// tensor's shape in `options` (--input_shape, or what the graph says, with --batch).
Executable build_executable(const Flags& flags, const std::string& input, const std::string& fetch,
                            int64_t batch, ExecOptions& options) {
  Graph graph = load_graph(flags.required("graph"));
  check_tensor_flag(graph, flags.str("graph"), "input_layer", input);
  check_tensor_flag(graph, flags.str("graph"), "fetch", fetch);
  std::printf("memory after loading the graph: resident %.1f MB, peak %.1f MB\n", resident_mb(),
              peak_rss_mb());
  if (!reads_input(graph, input, fetch))
    fail("--fetch '", fetch, "' does not depend on --input_layer '", input,
         "': its runs would compute the same whatever is fed");
  PartialShape shape = graph_shape(graph, input, options);
  if (flags.given("input_shape")) shape = given_shape(flags, shape, input);
  // A scalar has no dimension to hold the images: its runs would be of one, counted as `batch`.
  if (batch != 1 && shape.known_rank && shape.rank() == 0)
    fail("--batch ", batch, ": input '", input,
         "' is a scalar, with no batch dimension to hold the images (use --batch 1)");
  if (shape.known_rank && shape.rank() > 0) shape.dims[0] = batch;
  options.feed_shapes[input] = shape;
  try {
    return Executable(std::move(graph), {input}, {fetch}, options);
  } catch (const Error& e) {
    if (batch == 1 || !shape.known_rank || shape.rank() == 0) throw;
    return one_image_executable(flags, input, fetch, batch, options, e);
  }
}

std::vector<FlagSpec> bench_flag_specs() {
  std::vector<FlagSpec> specs = {
      {"graph", "", "GraphDef (.pb, .pbtxt) or TF.js model.json"},
      {"input_layer", "", "tensor to feed (random floats, or --image bytes for a string)"},
      {"fetch", "", "tensor to compute"},
      {"batch", "1", "images per run (the input's first dimension)"},
      {"seconds", "3",
       "how long to keep running, on the clock (at least three runs; with --against, three turns "
       "of each)"},
      {"per_layer", "false", "print each layer's time, GFLOP/s and share of peak", true},
      {"input_shape", "",
       "the fed tensor's dims after the batch (e.g. 299,299,3) where the graph leaves them open "
       "(the dims it declares must match)"},
      {"image", "", "JPEG to feed when --input_layer is a string tensor (DecodeJpeg/contents)"},
      {"against", "",
       "native, onednn or ref: also run the graph on this backend, in turns of about 0.25 s with "
       "--backend's (ABBA) within the same --seconds, each turn's first run untimed, and report "
       "both (--per_layer: each "
       "layer's times side by side)"},
  };
  for (FlagSpec& s : exec_flag_specs()) specs.push_back(s);
  return specs;
}

// --against's backend, if given: the same graph on a second backend, its runs in turns with the
// first's.
std::optional<Backend> against_backend(const Flags& flags) {
  if (!flags.given("against")) return std::nullopt;
  const std::optional<Backend> b = parse_backend(flags.str("against"));
  if (!b) fail("--against: expected native, onednn or ref, got '", flags.str("against"), "'");
  return b;
}

// The report after the runs: the layers (with --per_layer), each executable's summary, the
// first's last so that the report still ends with its images/s, and the FMA peak measured again.
void report(std::span<const Timed> timed, int64_t batch, bool per_layer, const Peak& peak,
            double peak_after) {
  const bool two = timed.size() == 2;
  const Executable& exe = *timed[0].exe;
  if (per_layer && two) {
    print_layers_against(timed[0], timed[1], exe.splits_batch(batch),
                         timed[1].exe->splits_batch(batch));
  } else if (per_layer) {
    print_layers(exe, timed[0].layer_times, timed[0].runs(), peak, timed[0].backend, batch);
  }
  const bool overlap =
      std::ranges::any_of(timed, [](const Timed& t) { return t.side_by_side > 0; });
  if (per_layer && overlap)
    std::printf(
        "(the layers of branches run side by side ran on one thread each, beside another "
        "branch: their times overlap)\n");
  for (auto t = timed.rbegin(); t != timed.rend(); ++t) print_summary(*t, batch, peak, two);
  if (peak_after > 0) print_peak_after(peak, peak_after);
  std::printf("peak RSS: %.1f MB\n", peak_rss_mb());
  std::printf("images/s: %.1f\n", batch / timed[0].mean_seconds());
}

}  // namespace

int bench(Args args) {
  Flags flags("bench",
              "--graph G.pb --input_layer T --fetch T [--batch N] [--per_layer] [--against B]",
              bench_flag_specs(), args);
  if (flags.help_requested()) return 0;
  flags.expect_no_positional();
  int64_t batch = flags.integer("batch");
  if (batch < 1 || batch > 4096) fail("--batch: expected 1..4096, got ", batch);
  double budget = flags.number("seconds");
  if (!(budget > 0 && budget <= 3600))
    fail("--seconds: expected a duration in (0, 3600], got ", flags.str("seconds"));
  std::string input = tensor_name(flags.required("input_layer"));
  std::string fetch = tensor_name(flags.required("fetch"));
  // Fetching the fed tensor runs no layer: the report timed an empty table as a network.
  if (fetch == input)
    fail("--fetch '", fetch, "' is --input_layer '", input,
         "' itself: no layer would run; fetch a tensor computed from it");

  ExecOptions options = exec_options(flags);
  const std::optional<Backend> against = against_backend(flags);
  ExecOptions other_options = options;
  if (against) other_options.backend = *against;
  Executable exe = build_executable(flags, input, fetch, batch, options);
  // An Identity between them is gone once loaded: the same empty table as the input fetched.
  if (exe.steps().empty())
    fail("--fetch '", fetch, "' is --input_layer '", input,
         "' passed on unchanged (Identity): no layer would run; fetch a tensor computed from it");
  std::printf("memory after building (loaded graph freed): resident %.1f MB, peak %.1f MB\n",
              resident_mb(), peak_rss_mb());
  Tensor feed = make_input(exe.feed_info(0), input, batch, flags);
  if (feed.dtype() == DType::kString && batch != 1)
    fail("--batch: a string input (JPEG bytes) runs one image at a time");

  std::optional<Executable> other;
  if (against) {
    other.emplace(build_executable(flags, input, fetch, batch, other_options));
    std::printf("memory after building the %s executable too: resident %.1f MB, peak %.1f MB\n",
                std::string(backend_name(other_options.backend)).c_str(), resident_mb(),
                peak_rss_mb());
  }

  int threads =
      options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  Peak peak = measure_peak(threads);
  std::printf(
      "kernels: %s, backend %s, %d threads%s, batch %lld\n",
      std::string(x86::isa_name(x86::active_isa())).c_str(), flags.str("backend").c_str(), threads,
      threads > peak.threads
          ? str_cat(" (more than the machine's ", peak.threads, ": they take turns)").c_str()
          : "",
      static_cast<long long>(batch));
  describe_arena(exe, batch);
  const std::span<const Tensor> feeds(&feed, 1);
  const bool two = other.has_value();
  std::vector<Timed> timed;
  timed.emplace_back(exe, options.backend);
  timed.back().side_by_side =
      warm_up(exe, feeds, batch, threads, flags, backend_label(options.backend, two));
  if (other) {
    timed.emplace_back(*other, other_options.backend);
    timed.back().side_by_side =
        warm_up(*other, feeds, batch, threads, flags, backend_label(other_options.backend, two));
  }
  const bool per_layer = flags.boolean("per_layer");
  time_runs(timed, feeds, budget, per_layer);
  const double peak_after = peak.per_thread > 0 ? x86::measure_fma_peak(peak.isa) : 0;

  report(timed, batch, per_layer, peak, peak_after);
  return 0;
}

}  // namespace poet::cli
