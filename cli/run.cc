// poet run: feed .npy tensors into any tensors of a graph, write fetched tensors as .npy.
#include <cstdio>
#include <filesystem>
#include <string_view>
#include <utility>

#include "cli/common.h"
#include "engine/file_io.h"
#include "engine/npy.h"

namespace poet::cli {
namespace {

void print_summary(const std::string& name, const Tensor& t) {
  std::printf("%s: %s %s", name.c_str(), std::string(dtype_name(t.dtype())).c_str(),
              shape_string(t.shape()).c_str());
  if (t.dtype() == DType::kFloat32 && t.num_elements() > 0) {
    auto v = t.data<float>();
    std::printf("  first values:");
    for (size_t i = 0; i < std::min<size_t>(v.size(), 6); ++i) std::printf(" %.6g", v[i]);
  }
  std::printf("\n");
}

// Whether each image of a batch of `batch` runs alone: each feed's rows in turn (scalars and
// feeds of a first dimension of 1, shared by the images, as they are). Strings have no rows to
// cut, and feeds of two batches have no images to cut, so they count as failing. An image that
// fails alone (a NaN a kept check finds) fails for its values, not for the batch.
bool each_image_runs(Executable& exe, std::span<const Tensor> feeds, int64_t batch) {
  for (int64_t i = 0; i < batch; ++i) {
    std::vector<Tensor> rows;
    for (const Tensor& t : feeds) {
      if (t.dtype() == DType::kString || (t.rank() > 0 && t.dim(0) != batch && t.dim(0) != 1))
        return false;
      rows.push_back(t.rank() == 0 || t.dim(0) != batch ? t : batch_rows(t, i, i + 1));
    }
    try {
      exe.run(rows);
    } catch (const Error&) {
      return false;
    }
  }
  return true;
}

// exe.run, with a hint when a batch fails run whole where each of its images runs alone: a graph
// exported for one image may fix that batch of 1 inside (a Reshape to [1,1001]), which only the
// batch split, running the images one at a time, gets past. Other errors are left as they are.
std::vector<Tensor> run_batch(Executable& exe, std::span<const Tensor> feeds) {
  const int64_t batch = feeds.empty() || feeds[0].rank() == 0 ? 1 : feeds[0].dim(0);
  try {
    return exe.run(feeds);
  } catch (const Error& e) {
    if (batch <= 1 || exe.splits_batch(batch) || !each_image_runs(exe, feeds, batch)) throw;
    const std::string why_not = exe.why_no_batch_split();
    fail(e.what(), "; the batch of ", batch, " ran whole, and each image runs alone: the ",
         "graph fixes a batch of 1 there; ",
         why_not.empty() ? "--batch_split on runs the images one at a time"
                         : "feed one image at a time (no batch split: " + why_not + ")");
  }
}

}  // namespace

int run(Args args) {
  std::vector<FlagSpec> specs = {
      {"graph", "", "GraphDef (.pb, .pbtxt) or TF.js model.json"},
      {"feed", "", "NAME:0=FILE.npy: a tensor to feed (repeatable)", false, true},
      {"fetch", "", "NAME:0: a tensor to compute (repeatable)", false, true},
      {"out", "", "FILE.npy for each --fetch, in order (repeatable); without it, a summary", false,
       true},
  };
  for (FlagSpec& s : exec_flag_specs()) specs.push_back(s);
  Flags flags("run", "--graph G.pb --feed input:0=x.npy --fetch out:0 [--out y.npy]", specs, args);
  if (flags.help_requested()) return 0;
  flags.expect_no_positional();

  std::vector<std::string> feed_names, feed_files, fetch_names = flags.all("fetch");
  for (const std::string& f : flags.all("feed")) {
    size_t eq = f.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == f.size())
      fail("--feed '", f, "': expected NAME:0=FILE.npy");
    feed_names.push_back(tensor_name(f.substr(0, eq)));
    feed_files.push_back(f.substr(eq + 1));
  }
  for (std::string& f : fetch_names) f = tensor_name(f);
  if (fetch_names.empty()) fail("--fetch is required");
  std::vector<std::string> outs = flags.all("out");
  if (!outs.empty() && outs.size() != fetch_names.size())
    fail("--out is given ", outs.size(), " times for ", fetch_names.size(), " --fetch tensors");
  // The files the run reads, which an --out would replace after reading them: the graph (a
  // TF.js model's shards too) and the fed .npy files.
  std::vector<std::pair<std::string_view, std::filesystem::path>> inputs;
  const std::string graph_path = flags.str("graph");
  if (!outs.empty() && !graph_path.empty())
    for (const std::filesystem::path& file : graph_files(graph_path))
      inputs.emplace_back("--graph", file);
  for (const std::string& file : feed_files) inputs.emplace_back("--feed", file);
  for (size_t i = 0; i < outs.size(); ++i) {
    check_can_write(outs[i], PathKind::kFile, "--out");
    for (size_t j = 0; j < i; ++j)
      if (same_file(outs[i], outs[j]))
        fail("--out ", outs[i],
             " is given for two --fetch tensors; the second would replace the first");
    for (const auto& [flag, input] : inputs)
      if (same_file(outs[i], input))
        fail("--out ", outs[i], ": is ", input.string(), ", which the run reads (", flag, ")");
  }
  std::vector<Tensor> feeds;
  for (const std::string& file : feed_files) feeds.push_back(read_npy(file));

  ExecOptions options = exec_options(flags);  // flag errors before the graph loads
  Graph graph = load_graph(flags.required("graph"));
  for (const std::string& f : feed_names) check_tensor_flag(graph, graph_path, "feed", f);
  for (const std::string& f : fetch_names) check_tensor_flag(graph, graph_path, "fetch", f);
  Executable exe(std::move(graph), feed_names, fetch_names, options);
  std::vector<Tensor> results = run_batch(exe, feeds);
  for (size_t i = 0; i < results.size(); ++i) {
    if (outs.empty()) {
      print_summary(fetch_names[i], results[i]);
    } else {
      write_npy(outs[i], results[i]);
    }
  }
  return 0;
}

}  // namespace poet::cli
