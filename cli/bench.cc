// poet bench: how fast a graph runs here, layer by layer, against the machine's FMA peak
// (measured, not looked up: one thread of independent FMAs per ISA).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <span>
#include <thread>

#include <sys/resource.h>

#include "cli/common.h"
#include "engine/batch_split.h"
#include "engine/file_io.h"
#include "kernels/x86/cpu_features.h"
#include "kernels/x86/fma_peak.h"

namespace poet::cli {
namespace {

namespace x86 = kernels::x86;
using Clock = std::chrono::steady_clock;

// Deterministic input for the fed tensor: uniform [-1, 1) floats, or the JPEG bytes of --image.
Tensor make_input(const TensorInfo& info, const Flags& flags) {
  if (info.dtype == DType::kString) {
    if (!flags.given("image")) fail("--input_layer is a string tensor: give --image FILE.jpg");
    return Tensor::from_string(read_file(flags.str("image")));
  }
  if (info.dtype != DType::kFloat32)
    fail("--input_layer: poet bench feeds float32 or string tensors, not ", dtype_name(info.dtype));
  Tensor t(DType::kFloat32, info.shape.known());
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
  double per_thread = 0;  // GFLOP/s of the ISA the kernels use
  int threads = 1;
  double total() const { return per_thread * threads; }
};

Peak measure_peak(int threads) {
  Peak peak;
  peak.threads = threads;
  // The L1's ways decide how the convolutions read 1024-channel images (InputSpacing).
  std::printf("machine: %u hardware threads, L1d %d-way; FMA peak per thread:",
              std::thread::hardware_concurrency(), x86::cpu_features().l1d_ways);
  for (x86::Isa isa : {x86::Isa::kAvx512, x86::Isa::kAvx2}) {
    if (!x86::isa_available(isa)) continue;
    double g = x86::measure_fma_peak(isa);
    std::printf(" %s %.1f GFLOP/s", std::string(x86::isa_name(isa)).c_str(), g);
    if (isa == x86::active_isa() || (peak.per_thread == 0 && x86::active_isa() == x86::Isa::kRef))
      peak.per_thread = g;
  }
  std::printf("\n");
  return peak;
}

// `split`: the batch ran image by image on the threads, so a layer's time is summed over the
// images (thread time) and its GFLOP/s is one thread's, against one thread's peak. Otherwise
// the last column, "threads", is how many threads the layer kept busy on average
// (StepTime::thread_seconds over its wall time): 1.00 on one thread, short of the pool's size
// by what the split left idle; "-" for oneDNN's layers, which run on oneDNN's own threads.
// `times`: each step's time summed over the timed runs.
void print_layers(const Executable& exe, std::span<const StepTime> times, int runs,
                  const Peak& peak, Backend default_backend, bool split) {
  const double layer_peak = split ? peak.per_thread : peak.total();
  if (split)
    std::printf("\nper layer: thread time summed over the images, %% of one thread's peak");
  std::printf("\n  %-52s %-28s %-18s %9s %9s %7s%s\n", "layer", "op", "output", "ms", "GFLOP/s",
              "%peak", split ? "" : " threads");
  std::vector<StepInfo> steps = exe.steps();
  for (size_t i = 0; i < steps.size(); ++i) {
    const double seconds = times[i].seconds;
    double ms = seconds / runs * 1e3;
    double gflops = ms > 0 ? steps[i].flops / (ms * 1e6) : 0;
    std::string shape = steps[i].outputs.empty() ? "" : steps[i].outputs[0].shape.str();
    // A layer sent to another backend than the run's (--backend_op) says which.
    std::string op = steps[i].op;
    if (steps[i].backend != default_backend)
      op += "@" + std::string(backend_name(steps[i].backend));
    std::printf("  %-52s %-28s %-18s %9.3f %9.1f %6.1f%%", steps[i].name.c_str(), op.c_str(),
                shape.c_str(), ms, gflops, 100 * gflops / layer_peak);
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

}  // namespace

int bench(Args args) {
  std::vector<FlagSpec> specs = {
      {"graph", "", "GraphDef (.pb, .pbtxt) or TF.js model.json"},
      {"input_layer", "", "tensor to feed (random floats, or --image bytes for a string)"},
      {"fetch", "", "tensor to compute"},
      {"batch", "1", "images per run (the input's first dimension)"},
      {"seconds", "3", "how long to keep running"},
      {"per_layer", "false", "print each layer's time, GFLOP/s and share of peak", true},
      {"input_shape", "",
       "the fed tensor's dims after the batch (e.g. 299,299,3) if the graph lacks them"},
      {"image", "", "JPEG to feed when --input_layer is a string tensor (DecodeJpeg/contents)"},
  };
  for (FlagSpec& s : exec_flag_specs()) specs.push_back(s);
  Flags flags("bench", "--graph G.pb --input_layer T --fetch T [--batch N] [--per_layer]", specs,
              args);
  if (flags.help_requested()) return 0;
  int64_t batch = flags.integer("batch");
  if (batch < 1 || batch > 4096) fail("--batch: expected 1..4096, got ", batch);
  double budget = flags.number("seconds");
  if (!(budget > 0 && budget <= 3600)) fail("--seconds: expected a duration in (0, 3600]");
  std::string input = tensor_name(flags.required("input_layer"));
  std::string fetch = tensor_name(flags.required("fetch"));

  ExecOptions options = exec_options(flags);
  // The loaded graph goes once the executable is built: it holds the file's weights, which
  // the executable has folded, fused or packed into its own copies.
  Executable exe = [&] {
    Graph graph = load_graph(flags.required("graph"));
    std::printf("memory after loading the graph: resident %.1f MB, peak %.1f MB\n", resident_mb(),
                peak_rss_mb());
    PartialShape shape;
    if (flags.given("input_shape")) {
      shape = PartialShape(parse_dims(flags.str("input_shape")));
    } else {
      shape = Executable(graph, {input}, {fetch}, options).feed_info(0).shape;
      if (!shape.fully_known()) {
        PartialShape computed = computed_shape(graph, input, options);
        if (computed.known_rank) shape = computed;
      }
    }
    if (shape.known_rank && shape.rank() > 0) shape.dims[0] = batch;
    options.feed_shapes[input] = shape;
    return Executable(std::move(graph), {input}, {fetch}, options);
  }();
  std::printf("memory after building (loaded graph freed): resident %.1f MB, peak %.1f MB\n",
              resident_mb(), peak_rss_mb());
  Tensor feed = make_input(exe.feed_info(0), flags);
  if (feed.dtype() == DType::kString && batch != 1)
    fail("--batch: a string input (JPEG bytes) runs one image at a time");

  int threads =
      options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  Peak peak = measure_peak(threads);
  std::printf("kernels: %s, backend %s, %d threads, batch %lld\n",
              std::string(x86::isa_name(x86::active_isa())).c_str(), flags.str("backend").c_str(),
              threads, static_cast<long long>(batch));
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
  // Warm-up: packs weights, touches buffers, and lets --layer_split auto time its two ways
  // (layer_threads is 0 until it has chosen; a split batch never asks it).
  const std::span<const Tensor> feeds(&feed, 1);
  const bool whole = !exe.splits_batch(batch);
  exe.run(feeds);
  for (int i = 1; whole && exe.layer_threads(feeds) == 0 && i < 2 * Executable::kLayerSplitTrials;
       ++i)
    exe.run(feeds);
  if (whole && threads > 1) {
    const int layer_threads = exe.layer_threads(feeds);
    std::printf("layers: %s (--layer_split %s)\n",
                layer_threads == 1 ? "each on one thread" : "each split over the threads",
                flags.str("layer_split").c_str());
  }
  // Layers are timed only when their table is asked for: timed, every step and every loop of
  // the pool reads clocks during the runs that images/s measures.
  const bool per_layer = flags.boolean("per_layer");
  std::vector<StepTime> layer_times(exe.steps().size());
  if (per_layer)
    exe.set_step_observer([&](int step, const StepTime& t) { layer_times[step] += t; });
  int runs = 0;
  const double cpu_start = cpu_seconds();
  Clock::time_point start = Clock::now();
  double elapsed = 0;
  std::vector<double> run_seconds;
  while (runs < 3 || elapsed < budget) {
    Clock::time_point run_start = Clock::now();
    exe.run(feeds);
    ++runs;
    Clock::time_point now = Clock::now();
    run_seconds.push_back(std::chrono::duration<double>(now - run_start).count());
    elapsed = std::chrono::duration<double>(now - start).count();
  }
  const double cpu_per_run = (cpu_seconds() - cpu_start) / runs;
  int64_t flops = 0;
  for (const StepInfo& s : exe.steps()) flops += s.flops;
  if (per_layer)
    print_layers(exe, layer_times, runs, peak, options.backend, exe.splits_batch(batch));
  double per_run = elapsed / runs;
  double gflops = flops / per_run / 1e9;
  std::printf("\nruns: %d in %.2f s, %.3f ms per run, %.3f GFLOP per run\n", runs, elapsed,
              per_run * 1e3, flops / 1e9);
  // On a shared machine the mean carries other tenants' bursts; the median and the fastest
  // run are steadier for comparing two builds.
  std::sort(run_seconds.begin(), run_seconds.end());
  std::printf("per run: median %.3f ms, fastest %.3f ms (images/s %.1f and %.1f)\n",
              run_seconds[run_seconds.size() / 2] * 1e3, run_seconds.front() * 1e3,
              batch / run_seconds[run_seconds.size() / 2], batch / run_seconds.front());
  // On a shared machine, one thread's CPU time per run is what waiting for a core does not
  // inflate (with more threads it also counts the pool's spinning between layers).
  std::printf("cpu: %.3f ms per run, all threads\n", cpu_per_run * 1e3);
  std::printf("GFLOP/s: %.1f (%.1f%% of %.1f peak on %d threads)\n", gflops,
              100 * gflops / peak.total(), peak.total(), threads);
  std::printf("memory after the runs: resident %.1f MB\n", resident_mb());
  std::printf("peak RSS: %.1f MB\n", peak_rss_mb());
  std::printf("images/s: %.1f\n", batch / per_run);
  return 0;
}

}  // namespace poet::cli
