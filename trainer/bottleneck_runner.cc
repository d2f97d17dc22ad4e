#include "trainer/bottleneck_runner.h"

#include <chrono>
#include <exception>
#include <filesystem>
#include <future>
#include <system_error>

#include "engine/error.h"
#include "engine/file_io.h"
#include "trainer/bottleneck_cache.h"

namespace poet::trainer {
namespace {

Executable make_executable(Graph graph, const BottleneckModel& m, int64_t batch,
                           ExecOptions options) {
  options.feed_shapes[m.input_tensor] =
      PartialShape(std::vector<int64_t>{batch, m.spec.height, m.spec.width, 3});
  return Executable(std::move(graph), {m.input_tensor}, {m.bottleneck_tensor}, options);
}

// True when the bottleneck keeps a free batch dimension: [-1, size].
bool batches(const Executable& exe, int size) {
  const PartialShape& s = exe.fetch_info(0).shape;
  return s.known_rank && s.rank() == 2 && s.dim(0) < 0 && (size <= 0 || s.dim(1) == size);
}

// A batch of n images of spec's size, float32 [n, H, W, 3], and image i's place in it.
Tensor image_batch(size_t n, const ImageInputSpec& spec) {
  return Tensor(DType::kFloat32, {static_cast<int64_t>(n), spec.height, spec.width, 3});
}
std::span<float> image_in_batch(Tensor& batch, size_t i) {
  const size_t values = static_cast<size_t>(batch.dim(1) * batch.dim(2) * batch.dim(3));
  return batch.data<float>().subspan(i * values, values);
}

double now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

BottleneckRunner::BottleneckRunner(Graph graph, const BottleneckModel& model, int batch,
                                   ExecOptions options, Warn warn, Reload reload)
    : graph_(std::move(graph)),
      reload_(std::move(reload)),
      options_(std::move(options)),
      warn_(std::move(warn)),
      model_(model),
      batch_(batch) {
  if (batch_ < 1) fail("--batch ", batch_, ": must be at least 1");
  graph_->endpoint(model_.input_tensor);  // an unknown name is an Error naming it
  graph_->endpoint(model_.bottleneck_tensor);
  if (model_.bottleneck_size > 0) return;
  // A bottleneck named on the command line: its size is the graph's.
  const PartialShape& shape = executable().fetch_info(0).shape;
  const int64_t size = shape.known_rank && shape.rank() >= 1 ? shape.dim(shape.rank() - 1) : -1;
  if (size <= 0)
    fail("'", model_.bottleneck_tensor, "' has shape ", shape.str(),
         ": its size per image is unknown, so it cannot be a bottleneck");
  model_.bottleneck_size = static_cast<int>(size);
}

int BottleneckRunner::batch() {
  executable();
  return batch_;
}

const std::string& BottleneckRunner::batch_note() {
  executable();
  return batch_note_;
}

Executable& BottleneckRunner::executable() {
  if (!exe_) {
    const bool noted = !batch_note_.empty();  // by a build before release()
    exe_.emplace(load());
    if (!noted && !batch_note_.empty() && warn_) warn_(batch_note_);
  }
  return *exe_;
}

Graph BottleneckRunner::graph() const { return graph_ ? *graph_ : reload_(); }

Graph BottleneckRunner::source() {
  if (!reload_) return *graph_;
  if (!graph_) return reload_();
  Graph taken = std::move(*graph_);
  graph_.reset();
  return taken;
}

Executable BottleneckRunner::load() {
  if (batch_ == 1) return make_executable(source(), model_, 1, options_);
  // Built for one image, a graph that keeps images apart takes a batch that the executor runs
  // image by image across its threads (ExecOptions::batch_split), in the activation arena and
  // grouped tail planned at load for one image's shapes (a batch left free at load has no
  // grouped tail, and its arena waits for a first run).
  // Inception v3 2015, whose pool_3/_reshape is [1, 2048], runs batches only so.
  if (options_.batch_split != BatchSplit::kOff && options_.native_only()) {
    Executable one = make_executable(source(), model_, 1, options_);
    if (one.splits_batch(batch_)) return one;
  }
  try {
    Executable exe = make_executable(source(), model_, -1, options_);
    if (batches(exe, model_.bottleneck_size)) return exe;
    batch_note_ = str_cat("'", model_.bottleneck_tensor, "' has shape ",
                          exe.fetch_info(0).shape.str(), ": the graph fixes the batch");
  } catch (const Error& e) {
    batch_note_ = str_cat("the graph cannot take a batch of images (", e.what(), ")");
  }
  batch_note_ += ": images run one at a time";
  batch_ = 1;
  return make_executable(source(), model_, 1, options_);
}

std::vector<std::vector<float>> BottleneckRunner::run_batch(const Tensor& images) {
  Executable& exe = executable();  // first: building may set batch_ to 1
  const int64_t n = images.rank() == 4 ? images.dim(0) : 0;
  if (images.dtype() != DType::kFloat32 ||
      images.shape() != Shape{n, model_.spec.height, model_.spec.width, 3} || n < 1 || n > batch_)
    fail("bottleneck: images of ", dtype_name(images.dtype()), " ", shape_string(images.shape()),
         "; expected float32 [n,", model_.spec.height, ",", model_.spec.width, ",3], n in 1..",
         batch_);
  Tensor result = exe.run(std::span<const Tensor>(&images, 1)).at(0);
  std::span<const float> values = result.data<float>();
  const size_t size = static_cast<size_t>(model_.bottleneck_size);
  if (values.size() != static_cast<size_t>(n) * size)
    fail("'", model_.bottleneck_tensor, "' gave ", shape_string(result.shape()), " for ", n,
         " images; expected ", size, " values per image");
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < static_cast<size_t>(n); ++i)
    out.emplace_back(values.begin() + static_cast<std::ptrdiff_t>(i * size),
                     values.begin() + static_cast<std::ptrdiff_t>((i + 1) * size));
  return out;
}

std::vector<std::vector<float>> BottleneckRunner::run(std::span<const Tensor> inputs) {
  const size_t per_pass = static_cast<size_t>(batch());
  std::vector<std::vector<float>> out;
  for (size_t start = 0; start < inputs.size(); start += per_pass) {
    Tensor images = image_batch(std::min(inputs.size() - start, per_pass), model_.spec);
    for (size_t i = 0; i < static_cast<size_t>(images.dim(0)); ++i) {
      std::span<const float> src = inputs[start + i].data<float>();
      std::span<float> dst = image_in_batch(images, i);
      if (src.size() != dst.size())
        fail("bottleneck: input ", start + i, " has ", src.size(), " values, expected ",
             dst.size());
      std::copy(src.begin(), src.end(), dst.begin());
    }
    for (std::vector<float>& b : run_batch(images)) out.push_back(std::move(b));
  }
  return out;
}

std::vector<float> BottleneckRunner::input_bottleneck(const Tensor& input) {
  return std::move(run(std::span<const Tensor>(&input, 1)).at(0));
}

std::vector<float> BottleneckRunner::image_bottleneck(const std::string& path) {
  return input_bottleneck(read_training_image(path, model_.spec));
}

namespace {

// `read`'s result; its error says what to do about the image at `path`.
template <class Read>
auto read_or_advise(const std::string& path, Read read) {
  try {
    return read();
  } catch (const ResourceError&) {
    throw;
  } catch (const Error& e) {
    fail(e.what(), "\n  (", path,
         " is not a readable image: remove or replace it in --image_dir, then run again)");
  }
}

}  // namespace

Tensor decode_training_image(const std::string& path) {
  return read_or_advise(path, [&] { return read_image(path); });
}

Tensor read_training_image(const std::string& path, const ImageInputSpec& spec) {
  return read_or_advise(path, [&] { return read_image_input(path, spec); });
}

void read_training_image(const std::string& path, const ImageInputSpec& spec,
                         std::span<float> out) {
  read_or_advise(path, [&] { read_image_input(path, spec, out); });
}

CacheFill fill_bottleneck_cache(const Dataset& dataset, const std::string& bottleneck_dir,
                                const std::string& architecture, BottleneckRunner& runner,
                                const std::function<void(size_t done, size_t total)>& progress,
                                const std::function<void(const std::string&)>& warn) {
  const double start = now();
  struct Job {
    std::string image, cache;
  };
  std::vector<Job> todo;
  CacheFill fill;
  for (const ImageClass& c : dataset.classes) {
    const size_t class_start = todo.size();
    for (Split split : {Split::kTraining, Split::kTesting, Split::kValidation}) {
      for (const std::string& file : c.images(split)) {
        std::string cache = bottleneck_path(bottleneck_dir, c.dir_name, file, architecture);
        std::error_code ec;
        if (std::filesystem::exists(cache, ec)) {
          std::string why;
          if (read_bottleneck(cache, static_cast<size_t>(runner.bottleneck_size()), &why)) {
            ++fill.reused;
            continue;
          }
          warn(str_cat(cache, ": invalid bottleneck file (", why, "); recomputing"));
        }
        todo.push_back({dataset.image_path(c, file), std::move(cache)});
      }
    }
    // Something other than a folder where the class's files go would fail at its first write;
    // a class with all its files there may sit in a folder the run cannot write.
    if (todo.size() > class_start)
      check_can_write(join_path(bottleneck_dir, c.dir_name), PathKind::kDirectory,
                      "--bottleneck_dir");
  }

  if (todo.empty()) {  // the graph is never built
    fill.seconds = now() - start;
    return fill;
  }
  // Decode batch k + 1 on a worker thread while the network runs batch k, each image straight
  // into its place in the batch fed (two batches in memory, not three).
  const size_t batch = static_cast<size_t>(runner.batch());
  auto decode = [&](size_t first) {
    Tensor images = image_batch(std::min(batch, todo.size() - first), runner.spec());
    for (size_t i = 0; i < static_cast<size_t>(images.dim(0)); ++i)
      read_training_image(todo[first + i].image, runner.spec(), image_in_batch(images, i));
    return images;
  };
  // A thread the system refuses (a task limit) said only "Resource temporarily unavailable".
  auto decode_ahead = [&](size_t first) {
    try {
      return std::async(std::launch::async, decode, first);
    } catch (const std::system_error& e) {
      fail("cannot start the thread that decodes the next images (", e.what(),
           "); allow the process more threads");
    }
  };
  if (progress) progress(0, todo.size());
  std::future<Tensor> next = decode_ahead(0);
  for (size_t first = 0; first < todo.size(); first += batch) {
    const Tensor images = next.get();
    if (first + batch < todo.size()) next = decode_ahead(first + batch);
    std::vector<std::vector<float>> values = runner.run_batch(images);
    for (size_t i = 0; i < values.size(); ++i) write_bottleneck(todo[first + i].cache, values[i]);
    fill.computed += values.size();
    if (progress) progress(fill.computed, todo.size());
  }
  fill.seconds = now() - start;
  return fill;
}

std::vector<std::vector<float>> distorted_bottlenecks(std::span<const std::string> paths,
                                                      const DistortOptions& options,
                                                      BottleneckRunner& runner, Random& random,
                                                      ThreadPool& pool) {
  const ImageInputSpec& spec = runner.spec();
  std::vector<Distortion> draws;
  for (size_t i = 0; i < paths.size(); ++i) draws.push_back(draw_distortion(options, spec, random));
  const size_t batch = static_cast<size_t>(runner.batch());
  std::vector<std::vector<float>> out;
  for (size_t first = 0; first < paths.size(); first += batch) {
    const size_t n = std::min(batch, paths.size() - first);
    Tensor images = image_batch(n, spec);
    std::vector<std::exception_ptr> errors(n);
    pool.parallel_for(
        static_cast<int64_t>(n), 1,
        [&](int64_t begin, int64_t end) {
          for (size_t i = static_cast<size_t>(begin); i < static_cast<size_t>(end); ++i) {
            try {
              apply_distortion(decode_training_image(paths[first + i]), draws[first + i], spec,
                               image_in_batch(images, i));
            } catch (...) {
              errors[i] = std::current_exception();  // a worker cannot throw
            }
          }
        },
        ThreadPool::Schedule::kDynamic);
    for (const std::exception_ptr& e : errors)
      if (e) std::rethrow_exception(e);
    for (std::vector<float>& b : runner.run_batch(images)) out.push_back(std::move(b));
  }
  return out;
}

}  // namespace poet::trainer
