// `poet retrain` killed with SIGKILL mid-run, then run again: the rerun must finish with the
// results of a run never interrupted, trusting no partial file the kills left. The kill points
// are drawn from a fixed seed: mid bottleneck extraction (by the cache's file count), mid
// training (by the `Step N:` lines) and mid output write (as soon as a temporary file of an
// atomic write appears next to the outputs). After each kill every file present must be
// complete; after the rerun no temporary file may remain. docs/RELIABILITY.md, "Kill and
// resume", describes the guarantees.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <functional>
#include <iostream>
#include <random>
#include <thread>

#include "engine/error.h"
#include "engine/file_io.h"
#include "engine/image_codec.h"
#include "importers/tensorflow/graphdef.h"
#include "tests/cli_util.h"
#include "tests/fixtures.h"
#include "trainer/bottleneck_cache.h"
#include "trainer/retrain.h"
#include "trainer/summary/summary_writer.h"

namespace poet::testing {
namespace {

namespace fs = std::filesystem;

const char* const kFruits = "fruits";  // 22 classes, 880 images
const char* const kMobileNet = "mobilenet_v1_0.25_128/frozen_graph.pb";
const char* const kArchitecture = "mobilenet_0.25_128";
constexpr size_t kClasses = 22, kImages = 880;
constexpr int kSteps = 300;

std::vector<std::string> retrain_args(const fs::path& root, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"retrain",
                                   "--image_dir",
                                   fixture(kFruits).string(),
                                   "--architecture",
                                   kArchitecture,
                                   "--graph",
                                   fixture(kMobileNet).string(),
                                   "--bottleneck_dir",
                                   (root / "bottlenecks").string(),
                                   "--output_graph",
                                   (root / "out" / "graph.pb").string(),
                                   "--output_labels",
                                   (root / "out" / "labels.txt").string(),
                                   "--intermediate_output_graphs_dir",
                                   (root / "out" / "intermediate").string() + "/",
                                   "--intermediate_store_frequency",
                                   "100",
                                   "--summaries_dir",
                                   (root / "summaries").string(),
                                   "--how_many_training_steps",
                                   std::to_string(kSteps),
                                   "--random_seed",
                                   "7"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<fs::path> files_under(const fs::path& dir) {
  std::vector<fs::path> files;
  // Error codes, not exceptions: a running writer renames and removes files meanwhile.
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) files.push_back(it->path());
  std::sort(files.begin(), files.end());
  return files;
}

bool is_temp(const fs::path& file) { return is_atomic_temp_name(file.filename().string()); }

size_t count_lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

std::string final_accuracy_line(const std::string& out) {
  const std::vector<std::string> m = first_match(out, "Final test accuracy = [^\n]*");
  return m.empty() ? "" : m[0];
}

// Every file a run (killed or not) has left under `root` is either a temporary file or
// complete: cache files parse with the exact count, graphs import, labels, CSV and PNG have
// their full size, event files read up to at most a truncated last record.
void expect_no_partial_file(const fs::path& root, const std::string& when) {
  SCOPED_TRACE(when);
  const size_t bottleneck_size =
      static_cast<size_t>(trainer::model_info(kArchitecture).bottleneck_size);
  for (const fs::path& f : files_under(root / "bottlenecks")) {
    if (is_temp(f)) continue;
    std::string why;
    EXPECT_TRUE(trainer::read_bottleneck(f.string(), bottleneck_size, &why)) << f << ": " << why;
  }
  for (const fs::path& f : files_under(root / "out")) {
    if (is_temp(f)) continue;
    std::string name = f.filename().string();
    try {
      if (f.extension() == ".pb") {
        EXPECT_GT(tf::load_graphdef(f).size(), 0u) << f;
      } else if (name == "labels.txt") {
        EXPECT_EQ(count_lines(read_file(f)), kClasses) << f;
      } else if (f.extension() == ".csv") {
        EXPECT_EQ(count_lines(read_file(f)), kClasses + 1) << f;  // a header, a row per class
      } else if (f.extension() == ".png") {
        Tensor png = decode_png(read_file(f), 3, f.string());
        EXPECT_GT(png.dim(0), 0) << f;
      } else {
        ADD_FAILURE() << "unexpected output " << f;
      }
    } catch (const Error& e) {
      ADD_FAILURE() << "partial output after a kill: " << e.what();
    }
  }
  for (const fs::path& f : files_under(root / "summaries")) {
    try {
      summary::read_event_file_tolerant(f);
    } catch (const Error& e) {
      ADD_FAILURE() << "unreadable event file: " << e.what();
    }
  }
}

size_t cache_files(const fs::path& root) {
  size_t n = 0;
  for (const fs::path& f : files_under(root / "bottlenecks")) n += !is_temp(f);
  return n;
}

bool has_temp_file(const fs::path& dir) {
  std::vector<fs::path> files = files_under(dir);
  return std::any_of(files.begin(), files.end(), is_temp);
}

// Starts a run and kills it as soon as `now` says so; false when the run ended first.
bool run_and_kill(const fs::path& root, const std::function<bool(PoetProcess&)>& now,
                  const std::string& point, std::vector<std::string> extra = {}) {
  PoetProcess p(retrain_args(root, std::move(extra)));
  while (p.running()) {
    if (now(p)) {
      CliResult r = p.kill();
      EXPECT_EQ(r.exit_code, 128 + SIGKILL) << point << "\n" << r.err;
      std::vector<fs::path> files = files_under(root);
      std::cerr << "killed " << point << ": " << cache_files(root) << " cache files, "
                << std::count_if(files.begin(), files.end(), is_temp) << " temporary files\n";
      return true;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  CliResult r = p.wait();
  EXPECT_EQ(r.exit_code, 0) << point << "\n" << r.err;
  std::cerr << "kill point missed (the run finished first): " << point << "\n";
  return false;
}

TEST(KillResumeSlow, RerunAfterSigkillMatchesAnUninterruptedRun) {
  POET_REQUIRE_FIXTURE(kFruits);
  POET_REQUIRE_FIXTURE(kMobileNet);
  TempDir ref_dir, dir;

  CliResult ref = run_poet(retrain_args(ref_dir.path()));
  ASSERT_EQ(ref.exit_code, 0) << ref.err;
  ASSERT_NE(final_accuracy_line(ref.out), "") << ref.out;

  std::mt19937 random(20240611);
  const size_t kill_at_files = std::uniform_int_distribution<size_t>(50, kImages - 80)(random);
  const int kill_at_step = 10 * std::uniform_int_distribution<int>(1, kSteps / 10 - 2)(random);
  const int write_after_step = 100 * std::uniform_int_distribution<int>(0, 2)(random);
  std::cerr << "kill points: " << kill_at_files << " cache files, Step " << kill_at_step
            << ", first atomic write after Step " << write_after_step << "\n";

  run_and_kill(
      dir.path(), [&](PoetProcess&) { return cache_files(dir.path()) >= kill_at_files; },
      "mid bottleneck extraction");
  expect_no_partial_file(dir.path(), "killed mid bottleneck extraction");
  EXPECT_LT(cache_files(dir.path()), kImages);

  // This run computes the rest of the cache in batches of 7, not the reference's 16: a
  // bottleneck must not depend on the images batched with it.
  const std::string step_line = str_cat("Step ", kill_at_step, ":");
  run_and_kill(dir.path(),
               [&](PoetProcess& p) { return p.out().find(step_line) != std::string::npos; },
               "mid training", {"--batch", "7"});
  expect_no_partial_file(dir.path(), "killed mid training");

  const std::string write_line = str_cat("Step ", write_after_step, ":");
  run_and_kill(
      dir.path(),
      [&](PoetProcess& p) {
        return p.out().find(write_line) != std::string::npos && has_temp_file(dir.path() / "out");
      },
      "mid output write");
  expect_no_partial_file(dir.path(), "killed mid output write");

  CliResult rerun = run_poet(retrain_args(dir.path()));
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  expect_no_partial_file(dir.path(), "after the rerun");
  EXPECT_EQ(cache_files(dir.path()), kImages);
  EXPECT_FALSE(has_temp_file(dir.path())) << "a temporary file survived the rerun";
  EXPECT_EQ(final_accuracy_line(rerun.out), final_accuracy_line(ref.out));
  for (const char* out : {"graph.pb", "labels.txt", "graph_confusion.csv", "graph_confusion.png",
                          "intermediate/intermediate_100.pb", "intermediate/intermediate_200.pb"}) {
    EXPECT_EQ(read_file(dir / "out" / out), read_file(ref_dir / "out" / out))
        << out << " differs from the uninterrupted run's";
  }
  for (const fs::path& f : files_under(dir / "summaries"))
    EXPECT_GT(summary::read_event_file(f).size(), 1u) << f;  // complete: strict read
}

}  // namespace
}  // namespace poet::testing
