// `poet retrain` and `poet label` end to end, run as a user runs them. Fast cases use a few
// classes of the fruits fixture copied to a temporary folder; RetrainSlow trains on all of it.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "engine/executor.h"
#include "engine/file_io.h"
#include "importers/tensorflow/graphdef.h"
#include "tests/cli_util.h"
#include "tests/fixtures.h"
#include "trainer/bottleneck_cache.h"
#include "trainer/dataset.h"
#include "trainer/summary/summary_writer.h"

namespace poet::testing {
namespace {

namespace fs = std::filesystem;

const char* const kFruits = "fruits";
const char* const kMobileNet = "mobilenet_v1_0.25_128/frozen_graph.pb";

// `classes` folders of the fruits fixture, the first `per_class` images of each.
void copy_fruits(const fs::path& to, int classes, int per_class) {
  std::vector<fs::path> folders;
  for (const auto& e : fs::directory_iterator(fixture(kFruits))) folders.push_back(e.path());
  std::sort(folders.begin(), folders.end());
  for (int c = 0; c < classes; ++c) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(folders[c])) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    fs::create_directories(to / folders[c].filename());
    for (int i = 0; i < per_class && i < static_cast<int>(files.size()); ++i)
      fs::copy_file(files[i], to / folders[c].filename() / files[i].filename());
  }
}

// The flags that keep every output of a run inside `dir`.
std::vector<std::string> retrain_args(const fs::path& image_dir, const fs::path& dir,
                                      std::vector<std::string> extra) {
  std::vector<std::string> args = {"retrain",
                                   "--image_dir",
                                   image_dir.string(),
                                   "--architecture",
                                   "mobilenet_0.25_128",
                                   "--graph",
                                   fixture(kMobileNet).string(),
                                   "--bottleneck_dir",
                                   (dir / "bottlenecks").string(),
                                   "--output_graph",
                                   (dir / "retrained.pb").string(),
                                   "--output_labels",
                                   (dir / "labels.txt").string(),
                                   "--summaries_dir",
                                   (dir / "summaries").string(),
                                   "--intermediate_output_graphs_dir",
                                   (dir / "inter/").string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// retrain_args for the images in `dir`/images, with 30% each for testing and validation, then
// `extra`. The split hashes each image's path, the temporary folder's too: with two classes of
// 30 images (copy_fruits) and 30% each, no set is left empty, which would stop a run before any
// image is read.
std::vector<std::string> split_args(const TempDir& dir, const std::vector<std::string>& extra) {
  std::vector<std::string> flags = {"--testing_percentage", "30", "--validation_percentage", "30"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  return retrain_args(dir / "images", dir.path(), flags);
}

// `args` with `flag` set to `value`: replaced where given, else added.
std::vector<std::string> with_flag(std::vector<std::string> args, const std::string& flag,
                                   const std::string& value) {
  auto it = std::find(args.begin(), args.end(), flag);
  if (it == args.end() || it + 1 == args.end()) {
    args.insert(args.end(), {flag, value});
  } else {
    *(it + 1) = value;
  }
  return args;
}

struct BottleneckLine {
  int computed = -1, reused = -1;
  double seconds = -1;
};

BottleneckLine bottleneck_line(const std::string& out) {
  const std::vector<std::string> m =
      first_match(out, R"(Bottlenecks: (\d+) computed, (\d+) reused from .* in ([0-9.]+) s)");
  if (m.empty()) return {};
  return {std::stoi(m[1]), std::stoi(m[2]), std::stod(m[3])};
}

// `label score` lines -> (label, score); labels may hold spaces.
std::vector<std::pair<std::string, double>> label_lines(const std::string& out) {
  std::vector<std::pair<std::string, double>> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    size_t space = line.rfind(' ');
    if (space == std::string::npos || line.back() == ':') continue;
    lines.emplace_back(line.substr(0, space), std::stod(line.substr(space + 1)));
  }
  return lines;
}

std::set<std::string> tags_of(const std::vector<tensorflow::Event>& events) {
  std::set<std::string> tags;
  for (const tensorflow::Event& e : events)
    for (const auto& v : e.summary().value()) tags.insert(v.tag());
  return tags;
}

fs::path only_event_file(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  EXPECT_EQ(files.size(), 1u) << dir;
  return files.empty() ? fs::path() : files[0];
}

// The train event file's graph (TensorBoard's Graphs tab): the retrained graph of `classes`
// classes, its constants over 1 KB without their values but with their dtype and shape.
void expect_retrained_graph_summary(const tensorflow::Event& event, int64_t classes) {
  ASSERT_TRUE(event.has_graph_def());
  tensorflow::GraphDef graph;
  ASSERT_TRUE(graph.ParseFromString(event.graph_def()));
  std::map<std::string, const tensorflow::NodeDef*> nodes;
  for (const tensorflow::NodeDef& n : graph.node()) nodes[n.name()] = &n;
  for (const char* name :
       {"input", "MobilenetV1/Predictions/Reshape", "input_1/BottleneckInputPlaceholder",
        "final_training_ops/Wx_plus_b/add", "final_result"})
    EXPECT_TRUE(nodes.count(name)) << name;
  ASSERT_TRUE(nodes.count("final_training_ops/weights/final_weights"));
  const tensorflow::TensorProto& weights =
      nodes["final_training_ops/weights/final_weights"]->attr().at("value").tensor();
  EXPECT_EQ(weights.dtype(), tensorflow::DT_FLOAT);
  ASSERT_EQ(weights.tensor_shape().dim_size(), 2);
  EXPECT_EQ(weights.tensor_shape().dim(0).size(), 1001);
  EXPECT_EQ(weights.tensor_shape().dim(1).size(), classes);
  EXPECT_TRUE(weights.tensor_content().empty());
  EXPECT_LT(event.graph_def().size(), fs::file_size(fixture(kMobileNet)) / 10);
}

TEST(RetrainCli, MissingImageDirIsAnError) {
  CliResult r = run_poet({"retrain", "--architecture", "mobilenet_0.25_128"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--image_dir is required"), std::string::npos) << r.err;
}

TEST(RetrainCli, OneClassIsAnError) {
  POET_REQUIRE_FIXTURE(kFruits);
  TempDir dir;
  copy_fruits(dir / "images", 1, 3);
  CliResult r = run_poet(retrain_args(dir / "images", dir.path(), {}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("only one folder of images"), std::string::npos) << r.err;
}

// A bad value fails at once: before the graph loads and any bottleneck is computed.
TEST(RetrainCli, BadValuesFailBeforeAnyBottleneck) {
  POET_REQUIRE_FIXTURE(kFruits);
  POET_REQUIRE_FIXTURE(kMobileNet);
  TempDir dir;
  copy_fruits(dir / "images", 2, 10);
  struct Case {
    std::string flag, value, message;
  } cases[] = {
      {"--learning_rate", "-1", "--learning_rate -1: must be a positive number"},
      {"--learning_rate", "inf", "--learning_rate: expected a finite number, got 'inf'"},
      {"--learning_rate", "nan", "--learning_rate: expected a finite number, got 'nan'"},
      {"--train_batch_size", "100001", "--train_batch_size 100001: at most 100000 (-1: all)"},
      {"--test_batch_size", "100000000", "--test_batch_size 100000000: at most 100000 (-1: all)"},
      {"--random_crop", "-1", "--random_crop -1: must not be negative"},
      {"--random_scale", "901", "scales the images up to 10.01 times their size; at most 10"},
      // The current directory, where the run scattered class folders or its train/ and
      // validation/ (deleting event files there).
      {"--bottleneck_dir", "", "--bottleneck_dir: an empty directory name; give ./"},
      {"--summaries_dir", "", "--summaries_dir: an empty directory name; give ./"},
      {"--intermediate_output_graphs_dir", "",
       "--intermediate_output_graphs_dir: an empty directory name; give ./"},
  };
  for (const Case& c : cases) {
    CliResult r = run_poet(
        with_flag(retrain_args(dir / "images", dir.path(), {"--intermediate_store_frequency", "1"}),
                  c.flag, c.value));
    EXPECT_EQ(r.exit_code, 1) << c.message;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  CliResult r =
      run_poet(retrain_args(dir / "images", dir.path(), {"--validation_percentage", "0"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no image falls in the validation set"), std::string::npos) << r.err;
  // "_nohash_" in the folder's own path makes every image hash alike: no percentage helps.
  fs::rename(dir / "images", dir / "data_nohash_1");
  r = run_poet(retrain_args(dir / "data_nohash_1", dir.path(), {}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("here in --image_dir itself, so every image falls in the same set"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir / "bottlenecks"));
}

// An output that cannot be written fails at once too, naming the flag, not after the
// bottlenecks and the training.
TEST(RetrainCli, UnwritableOutputsFailBeforeAnyBottleneck) {
  POET_REQUIRE_FIXTURE(kFruits);
  POET_REQUIRE_FIXTURE(kMobileNet);
  TempDir dir;
  copy_fruits(dir / "images", 2, 30);  // for split_args
  write_file_atomic(dir / "file", "x");
  const std::string under_file = (dir / "file" / "out").string();
  for (const std::string flag :
       {"--output_graph", "--output_labels", "--bottleneck_dir", "--summaries_dir",
        "--intermediate_output_graphs_dir", "--confusion_matrix"}) {
    std::vector<std::string> extra = {"--how_many_training_steps", "2"};
    if (flag == "--intermediate_output_graphs_dir")
      extra.insert(extra.end(), {"--intermediate_store_frequency", "1"});
    CliResult r = run_poet(with_flag(split_args(dir, extra), flag, under_file));
    EXPECT_EQ(r.exit_code, 1) << flag;
    EXPECT_NE(r.err.find(flag + " " + under_file), std::string::npos) << r.err;
    EXPECT_NE(r.err.find((dir / "file").string() + " is a file, not a directory"),
              std::string::npos)
        << r.err;
  }
  CliResult r = run_poet(with_flag(split_args(dir, {}), "--output_graph", dir.path().string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is a directory, not a file"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "bottlenecks"));
}

// Two outputs on one file, or an output over the model or among the images, replaced each
// other without a word (the labels over the graph, exit 0); a file where another output needs
// a folder failed after the training.
TEST(RetrainCli, OutputsThatCollideFailBeforeAnyBottleneck) {
  POET_REQUIRE_FIXTURE(kFruits);
  POET_REQUIRE_FIXTURE(kMobileNet);
  TempDir dir;
  copy_fruits(dir / "images", 2, 30);  // for split_args
  fs::copy_file(fixture(kMobileNet), dir / "model.pb");
  const std::string out = (dir / "out").string();
  const std::vector<std::string> base =
      with_flag(split_args(dir, {}), "--graph", (dir / "model.pb").string());
  const std::pair<std::vector<std::pair<std::string, std::string>>, std::string> cases[] = {
      {{{"--output_graph", out + "/x"}, {"--output_labels", out + "/./x"}},
       "--output_labels " + out + "/./x: the run also writes --output_graph there"},
      {{{"--output_graph", out + "/m.png"}, {"--confusion_matrix", out + "/m"}},
       "--confusion_matrix " + out + "/m.png: the run also writes --output_graph there"},
      {{{"--output_labels", (dir / "model.pb").string()}},
       "--output_labels " + (dir / "model.pb").string() + ": is "},
      {{{"--output_labels", (dir / "images" / "labels.txt").string()}}, ": is inside --image_dir"},
      {{{"--output_graph", (dir / "bottlenecks" / "apple_braeburn" / "0_100.jpg_x.txt").string()}},
       ": is inside --bottleneck_dir's folder of class apple_braeburn"},
      {{{"--summaries_dir", out}, {"--output_labels", out + "/train"}},
       "--summaries_dir " + out + "/train: the run also writes --output_labels there"},
      // A file where another output needs a folder failed at its write, after the training.
      {{{"--output_graph", out + "/x"}, {"--summaries_dir", out + "/x/sum"}},
       "--output_graph " + out + "/x: the run needs it as a folder, for --summaries_dir " + out +
           "/x/sum/train"},
      {{{"--output_labels", out + "/l"}, {"--confusion_matrix", out + "/l/cm"}},
       "--output_labels " + out + "/l: the run needs it as a folder, for --confusion_matrix " +
           out + "/l/cm.csv"},
      {{{"--output_graph", out + "/g"}, {"--bottleneck_dir", out + "/g/cache"}},
       "--output_graph " + out + "/g: the run needs it as a folder, for --bottleneck_dir " + out +
           "/g/cache"},
      {{{"--output_graph", out + "/i"},
        {"--intermediate_output_graphs_dir", out + "/i/"},
        {"--intermediate_store_frequency", "1"}},
       "--output_graph " + out +
           "/i: the run needs it as a folder, for "
           "--intermediate_output_graphs_dir " +
           out + "/i"},
      // A relative spelling of a path not yet made, against an absolute one (its folder is not
      // made: the check fails first).
      {{{"--summaries_dir", (fs::current_path() / "poet-clash-check" / "sum").string()},
        {"--output_graph", "poet-clash-check"}},
       "--output_graph poet-clash-check: the run needs it as a folder, for --summaries_dir " +
           (fs::current_path() / "poet-clash-check" / "sum" / "train").string()},
  };
  for (const auto& [flags, message] : cases) {
    std::vector<std::string> args = base;
    for (const auto& [flag, value] : flags) args = with_flag(args, flag, value);
    CliResult r = run_poet(args);
    EXPECT_EQ(r.exit_code, 1) << message;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(dir / "bottlenecks"));
  EXPECT_FALSE(fs::exists("poet-clash-check"));
  fs::remove_all("poet-clash-check");  // made in the working folder only if the check failed
  EXPECT_EQ(fs::file_size(dir / "model.pb"), fs::file_size(fixture(kMobileNet)));
}

// A tensor the graph lacks is named with the flag that gave it, or the architecture whose
// default it is, before any bottleneck.
TEST(RetrainCli, TensorsTheGraphLacksNameTheirFlag) {
  POET_REQUIRE_FIXTURE(kFruits);
  POET_REQUIRE_FIXTURE(kMobileNet);
  TempDir dir;
  copy_fruits(dir / "images", 2, 30);  // for split_args
  const std::vector<std::string> args = split_args(dir, {});
  const std::string graph = fixture(kMobileNet).string();
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {with_flag(args, "--bottleneck_layer", "nope"),
       "--bottleneck_layer nope: no node 'nope' in " + graph},
      {with_flag(args, "--input_layer", "inp:0"), "--input_layer inp:0: no node 'inp' in " + graph},
      {with_flag(args, "--architecture", "inception_v3"),
       graph + ": no tensor Mul:0 (the input of --architecture inception_v3); name it with "
               "--input_layer"},
  };
  for (const auto& [case_args, message] : cases) {
    CliResult r = run_poet(case_args);
    EXPECT_EQ(r.exit_code, 1) << message;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(dir / "bottlenecks"));
}

// A --final_tensor_name the retrained graph could not hold, or TensorFlow could not load, fails
// as the graph loads, not when the graph is written after the training.
TEST(RetrainCli, AFinalTensorNameTheGraphCannotTakeFailsBeforeAnyBottleneck) {
  POET_REQUIRE_FIXTURE(kFruits);
  POET_REQUIRE_FIXTURE(kMobileNet);
  TempDir dir;
  copy_fruits(dir / "images", 2, 30);  // for split_args
  const std::pair<std::string, std::string> cases[] = {
      {"input", "--final_tensor_name input: the graph already has that node"},
      {"result:0", "--final_tensor_name 'result:0': not a TensorFlow node name"},
      {"final_training_ops/Wx_plus_b/add",
       "--final_tensor_name final_training_ops/Wx_plus_b/add: a name of the new layer's own "
       "nodes"},
  };
  for (const auto& [name, message] : cases) {
    CliResult r = run_poet(with_flag(split_args(dir, {}), "--final_tensor_name", name));
    EXPECT_EQ(r.exit_code, 1) << name;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(dir / "bottlenecks"));
}

TEST(RetrainCli, UnknownArchitectureIsAnError) {
  POET_REQUIRE_FIXTURE(kFruits);
  CliResult r = run_poet(
      {"retrain", "--image_dir", fixture(kFruits).string(), "--architecture", "resnet_50"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--architecture resnet_50: expected inception_v3 or mobilenet_"),
            std::string::npos)
      << r.err;
}

TEST(RetrainCli, MissingModelSaysWhereItLookedAndThatPoetCannotDownload) {
  POET_REQUIRE_FIXTURE(kFruits);
  TempDir dir;
  CliResult r = run_poet({"retrain", "--image_dir", fixture(kFruits).string(), "--architecture",
                          "mobilenet_0.50_160_quantized", "--model_dir", dir.path().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find((dir / "mobilenet_v1_0.50_160/quantized_graph.pb").string()),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("poet cannot download"), std::string::npos) << r.err;
  r = run_poet(
      {"retrain", "--image_dir", fixture(kFruits).string(), "--model_dir", dir.path().string()});
  EXPECT_NE(r.err.find((dir / "classify_image_graph_def.pb").string()), std::string::npos) << r.err;
}

TEST(RetrainCli, CorruptJpegIsNamedAndStopsTheRun) {
  POET_REQUIRE_FIXTURE(kMobileNet);
  TempDir dir;
  copy_fruits(dir / "images", 2, 30);  // for split_args
  fs::path bad;
  for (const auto& e : fs::directory_iterator(dir / "images")) bad = e.path() / "broken.jpg";
  std::ofstream(bad, std::ios::binary) << "\xff\xd8\xff\xe0 this is not a JPEG";
  CliResult r = run_poet(split_args(dir, {}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bad.string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("remove or replace it"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "retrained.pb"));
}

// A cache path taken by a pipe hung the run (reading waits for a writer); a directory there was
// "recomputed" and failed only when written. Neither can be read or replaced: the run stops
// while it scans the cache, naming the path, before any bottleneck is computed.
TEST(RetrainCli, ACachePathThatIsNotAFileStopsTheRunBeforeAnyBottleneck) {
  POET_REQUIRE_FIXTURE(kMobileNet);
  TempDir dir;
  copy_fruits(dir / "images", 2, 30);  // for split_args
  const fs::path folder = fs::directory_iterator(dir / "images")->path();
  const std::string cache = trainer::bottleneck_path(
      (dir / "bottlenecks").string(), folder.filename().string(),
      fs::directory_iterator(folder)->path().filename().string(), "mobilenet_0.25_128");
  const fs::path class_dir = fs::path(cache).parent_path();
  struct Case {
    std::function<void()> make;
    std::string error;
  };
  const std::string not_a_file =
      cache +
      ": not a regular file (a directory, pipe or device), so the bottleneck cache can neither "
      "read nor replace it; remove it";
  const Case cases[] = {
      {[&] { fs::create_directories(cache); }, not_a_file},
      {[&] { ASSERT_EQ(::mkfifo(cache.c_str(), 0600), 0); }, not_a_file},
      // The class's folder is a file: it failed only when the first bottleneck was written.
      {[&] {
         fs::remove(class_dir);
         std::ofstream(class_dir) << "not a folder";
       },
       "--bottleneck_dir " + class_dir.string()}};
  for (const Case& c : cases) {
    fs::remove_all(dir / "bottlenecks");
    fs::create_directories(class_dir);
    c.make();
    PoetProcess p(split_args(dir, {}));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (p.running() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CliResult r = p.kill();
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("error: " + c.error), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("bottlenecks "), std::string::npos) << r.out;  // no progress line
    size_t written = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir / "bottlenecks"))
      written += e.is_regular_file() && e.path() != class_dir;
    EXPECT_EQ(written, 0u);
  }
}

// A cache file is named for its image with "_<architecture>.txt" added: an image name near the
// file system's limit gave a cache name over it, and the run failed partway through the
// bottlenecks, naming the cache file. The scan names the image.
TEST(RetrainCli, AnImageWhoseCacheNameWouldNotFitIsNamedBeforeAnyBottleneck) {
  POET_REQUIRE_FIXTURE(kMobileNet);
  TempDir dir;
  copy_fruits(dir / "images", 2, 30);  // for split_args
  const fs::path folder = fs::directory_iterator(dir / "images")->path();
  const fs::path image = fs::directory_iterator(folder)->path();
  const fs::path renamed = folder / (std::string(240, 'a') + ".jpg");
  fs::rename(image, renamed);
  CliResult r = run_poet(split_args(dir, {}));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(renamed.string() + ": its bottleneck file's name would be 267 bytes, over "
                                          "the 255 a file system allows; rename the image"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir / "bottlenecks"));
}

// retrain.py writes only the bottleneck files that are missing, so a complete cache may be
// shared or read-only; poet refused any --bottleneck_dir it could not write. The second run is
// a user who cannot write the cache's folders (root writes through permissions, so as root
// the run drops to nobody).
TEST(RetrainCli, ACompleteCacheInAFolderTheRunCannotWriteIsRead) {
  POET_REQUIRE_FIXTURE(kFruits);
  POET_REQUIRE_FIXTURE(kMobileNet);
  std::vector<std::string> launcher;
  if (::geteuid() == 0) {
    if (!fs::exists("/usr/bin/setpriv")) GTEST_SKIP() << "root without setpriv";
    launcher = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  }
  TempDir dir;
  copy_fruits(dir / "images", 2, 30);  // for split_args
  ASSERT_EQ(run_poet(split_args(dir, {"--how_many_training_steps", "1"})).exit_code, 0);
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_exec |
                                  fs::perms::others_exec | fs::perms::group_read |
                                  fs::perms::others_read);
  fs::create_directories(dir / "out");
  fs::permissions(dir / "out", fs::perms::all);
  // The cache's folders read-only for their owner too (the TempDir's cleanup needs them back).
  auto cache_writable = [&](bool writable) {
    const auto how = writable ? fs::perm_options::add : fs::perm_options::remove;
    fs::permissions(dir / "bottlenecks", fs::perms::owner_write, how);
    for (const auto& e : fs::recursive_directory_iterator(dir / "bottlenecks"))
      if (e.is_directory()) fs::permissions(e.path(), fs::perms::owner_write, how);
  };
  cache_writable(false);
  auto args = with_flag(retrain_args(dir / "images", dir / "out",
                                     {"--testing_percentage", "30", "--validation_percentage", "30",
                                      "--how_many_training_steps", "1"}),
                        "--bottleneck_dir", (dir / "bottlenecks").string());

  CliResult r = run_poet(args, launcher);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const BottleneckLine line = bottleneck_line(r.out);
  EXPECT_EQ(line.computed, 0) << r.out;
  EXPECT_EQ(line.reused, 60) << r.out;

  // A missing file is written into its class's folder, which must then be writable (only it:
  // the cache's top folder may stay read-only); else the run is refused before it starts.
  const fs::path class_dir = *fs::directory_iterator(dir / "bottlenecks");
  cache_writable(true);
  fs::remove(*fs::directory_iterator(class_dir));
  cache_writable(false);
  r = run_poet(args, launcher);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--bottleneck_dir " + class_dir.string() + ": cannot write in " +
                       class_dir.string()),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out.find("Input: "), std::string::npos) << r.out;  // before the graph loads
  fs::permissions(class_dir, fs::perms::all);
  r = run_poet(args, launcher);
  cache_writable(true);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(bottleneck_line(r.out).computed, 1) << r.out;
}

// retrain.py warns about the dataset as it scans it, before the slow bottleneck phase; poet
// warned only when training started, so a run that stopped in that phase never showed them.
TEST(RetrainCli, DatasetWarningsComeOnceBeforeTheBottlenecks) {
  POET_REQUIRE_FIXTURE(kMobileNet);
  TempDir dir;
  copy_fruits(dir / "images", 2, 30);  // for split_args
  const fs::path first = fs::directory_iterator(dir / "images")->path();
  fs::create_directories(dir / "images" / "empty");
  fs::create_directories(dir / "images" / "few");
  for (int i = 0; const auto& e : fs::directory_iterator(first))
    if (i++ < 3) fs::copy_file(e.path(), dir / "images" / "few" / e.path().filename());
  const std::string warnings[] = {(dir / "images" / "empty").string() + ": no images",
                                  (dir / "images" / "few").string() + ": only 3 images"};
  auto count = [](const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  std::ofstream(first / "broken.jpg", std::ios::binary) << "\xff\xd8\xff\xe0 not a JPEG";
  CliResult stopped = run_poet(split_args(dir, {}));  // in the bottleneck phase
  EXPECT_EQ(stopped.exit_code, 1);
  fs::remove(first / "broken.jpg");
  CliResult ran = run_poet(split_args(dir, {"--how_many_training_steps", "2"}));
  ASSERT_EQ(ran.exit_code, 0) << ran.err;
  for (const std::string& warning : warnings) {
    EXPECT_EQ(count(stopped.err, warning), 1u) << stopped.err;
    EXPECT_EQ(count(ran.err, warning), 1u) << ran.err;
  }
}

// With distortions the images are decoded on several threads: a corrupt one still stops the
// run with an error naming it, and nothing is written.
TEST(RetrainCli, CorruptJpegStopsADistortedRunToo) {
  POET_REQUIRE_FIXTURE(kMobileNet);
  TempDir dir;
  copy_fruits(dir / "images", 2, 30);  // for split_args
  fs::path broken_class = fs::directory_iterator(dir / "images")->path();
  for (const auto& e : fs::directory_iterator(broken_class))
    std::ofstream(e.path(), std::ios::binary | std::ios::trunc) << "\xff\xd8\xff\xe0 not a JPEG";
  CliResult r = run_poet(split_args(dir, {"--flip_left_right", "--how_many_training_steps", "2"}));
  EXPECT_EQ(r.exit_code, 1);
  // The error, not the warning that the folder holds few images, names one of its files.
  EXPECT_NE(r.err.find("error: " + broken_class.string() + "/"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("remove or replace it"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "retrained.pb"));
}

// A short run on three classes: every output is written and readable, the event files hold
// retrain.py's tags at the right steps, and the written graph computes what training computed.
TEST(RetrainCli, ShortRunWritesEveryOutput) {
  POET_REQUIRE_FIXTURE(kMobileNet);
  TempDir dir;
  fs::path images = dir / "images";
  copy_fruits(images, 3, 40);
  CliResult r =
      run_poet(retrain_args(images, dir.path(),
                            {"--how_many_training_steps", "25", "--eval_step_interval", "10",
                             "--random_seed", "3", "--testing_percentage", "25",
                             "--validation_percentage", "25", "--intermediate_store_frequency",
                             "20", "--print_misclassified_test_images", "--batch", "7"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  BottleneckLine b = bottleneck_line(r.out);
  EXPECT_EQ(b.computed, 120);
  EXPECT_EQ(b.reused, 0);
  EXPECT_GE(final_accuracy(r.out), 0) << r.out;
  EXPECT_NE(r.out.find("Step 24: Validation accuracy = "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("=== MISCLASSIFIED TEST IMAGES ==="), std::string::npos);
  EXPECT_NE(r.out.find("accuracy "), std::string::npos);  // the confusion matrix's last line
  EXPECT_EQ(read_file(dir / "labels.txt", 1 << 20),
            "apple braeburn\napple crimson snow\napple golden 1\n");
  EXPECT_TRUE(fs::exists(dir / "inter/intermediate_20.pb"));
  std::string csv = read_file(dir / "retrained_confusion.csv", 1 << 20);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "true\\predicted,apple braeburn,apple crimson snow,apple golden 1");
  EXPECT_EQ(read_file(dir / "retrained_confusion.png", 1 << 20).substr(1, 3), "PNG");

  // Event files: every step in train/, the eval steps in validation/, retrain.py's tags.
  auto train = summary::read_event_file(only_event_file(dir / "summaries/train"));
  auto validation = summary::read_event_file(only_event_file(dir / "summaries/validation"));
  ASSERT_EQ(train.size(), 2u + 25u);
  ASSERT_EQ(validation.size(), 1u + 4u);
  EXPECT_EQ(train[0].file_version(), "brain.Event:2");
  for (int s = 0; s < 25; ++s) EXPECT_EQ(train[2 + s].step(), s);
  for (const tensorflow::Event& e : validation) EXPECT_FALSE(e.has_graph_def());
  expect_retrained_graph_summary(train[1], 3);
  std::vector<int64_t> eval_steps;
  for (size_t i = 1; i < validation.size(); ++i) eval_steps.push_back(validation[i].step());
  EXPECT_EQ(eval_steps, (std::vector<int64_t>{0, 10, 20, 24}));
  std::set<std::string> ours = tags_of(validation);
  EXPECT_EQ(ours, tags_of(train));
  EXPECT_TRUE(ours.count("accuracy_1") && ours.count("cross_entropy_1") &&
              ours.count("final_training_ops/weights/summaries/mean_1"));
  fs::path real = fixture("tensorboard/events.out.tfevents.1558970915.validation");
  if (fs::exists(real)) {
    EXPECT_EQ(ours, tags_of(summary::read_event_file(real)));
  }

  // A test image through the whole written graph (poet label, poet's preprocessing) against
  // the new layer applied to its cached bottleneck.
  std::string folder = "apple_crimson_snow", file;
  for (const auto& e : fs::directory_iterator(images / folder))
    if (trainer::assign_split((images / folder / e.path().filename()).string(), 25, 25) ==
        trainer::Split::kTesting)
      file = e.path().filename().string();
  ASSERT_FALSE(file.empty());
  CliResult label = run_poet({"label", "--graph", (dir / "retrained.pb").string(), "--labels",
                              (dir / "labels.txt").string(), "--input_height", "128",
                              "--input_width", "128", "--input_mean", "127.5", "--input_std",
                              "127.5", "--image", (images / folder / file).string()});
  ASSERT_EQ(label.exit_code, 0) << label.err;
  auto scores = label_lines(label.out);
  ASSERT_EQ(scores.size(), 3u) << label.out;
  std::string why;
  auto bottleneck = trainer::read_bottleneck(
      trainer::bottleneck_path((dir / "bottlenecks").string(), folder, file, "mobilenet_0.25_128"),
      1001, &why);
  ASSERT_TRUE(bottleneck) << why;
  Executable final_layer(tf::load_graphdef(dir / "retrained.pb"),
                         {"input_1/BottleneckInputPlaceholder:0"}, {"final_result:0"});
  Tensor feed[] = {Tensor::from_floats({1, 1001}, *bottleneck)};
  Tensor result = final_layer.run(feed).at(0);
  std::span<const float> probs = result.data<float>();
  std::vector<std::string> labels = {"apple braeburn", "apple crimson snow", "apple golden 1"};
  for (const auto& [name, score] : scores) {
    size_t i = std::find(labels.begin(), labels.end(), name) - labels.begin();
    ASSERT_LT(i, labels.size()) << name;
    EXPECT_NEAR(score, probs[i], 1e-5) << name;
  }
}

// With distortions every training image is distorted and run again (no cache for training);
// the seed fixes the distortions too.
TEST(RetrainCli, DistortionsRunAndRepeatWithTheSeed) {
  POET_REQUIRE_FIXTURE(kMobileNet);
  TempDir dir;
  copy_fruits(dir / "images", 2, 30);  // for split_args
  std::vector<std::string> flags = {"--how_many_training_steps",
                                    "4",
                                    "--train_batch_size",
                                    "8",
                                    "--flip_left_right",
                                    "--random_crop",
                                    "10",
                                    "--random_scale",
                                    "20",
                                    "--random_brightness",
                                    "15",
                                    "--random_seed",
                                    "9"};
  CliResult first = run_poet(split_args(dir, flags));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out.find("Bottlenecks:"), std::string::npos);  // no cache phase
  std::string graph = read_file(dir / "retrained.pb", 1 << 30);
  CliResult second = run_poet(split_args(dir, flags));
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(read_file(dir / "retrained.pb", 1 << 30), graph);
}

// retrain.py takes percentages over 100 (a crop margin of 150%, a scale up to 3x, a brightness
// factor that may go negative); poet refused them.
TEST(RetrainCli, DistortionsOverAHundredPercentRun) {
  POET_REQUIRE_FIXTURE(kMobileNet);
  TempDir dir;
  copy_fruits(dir / "images", 2, 30);  // for split_args
  CliResult r = run_poet(
      split_args(dir, {"--how_many_training_steps", "2", "--train_batch_size", "4", "--random_crop",
                       "150", "--random_scale", "200", "--random_brightness", "150"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir / "retrained.pb"));
}

TEST(LabelCli, PoetsRetrainedGraphGivesSixScoresSummingToOne) {
  POET_REQUIRE_FIXTURE("poets_retrained/retrained_graph.pb");
  CliResult r = run_poet(
      {"label", "--graph", fixture("poets_retrained/retrained_graph.pb").string(), "--labels",
       fixture("poets_retrained/retrained_labels.txt").string(), "--input_layer", "input",
       "--input_height", "128", "--input_width", "128", "--input_mean", "127.5", "--input_std",
       "127.5", "--top_k", "10", "--image", fixture("images/panda.jpg").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto scores = label_lines(r.out);
  ASSERT_EQ(scores.size(), 6u) << r.out;
  std::set<std::string> names;
  double sum = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    names.insert(scores[i].first);
    sum += scores[i].second;
    if (i > 0) {
      EXPECT_LE(scores[i].second, scores[i - 1].second);
    }
  }
  EXPECT_EQ(names.size(), 6u);
  EXPECT_TRUE(names.count("61326 ok front"));
  EXPECT_NEAR(sum, 1.0, 1e-5);
}

TEST(LabelCli, FolderGivesOneBlockPerImageAndDefaultsToTopFive) {
  POET_REQUIRE_FIXTURE("poets_retrained/retrained_graph.pb");
  TempDir dir;
  fs::copy_file(fixture("images/panda.jpg"), dir / "b.jpg");
  fs::copy_file(fixture("images/flower1.jpg"), dir / "a.JPG");
  std::ofstream(dir / "notes.txt") << "not an image";
  CliResult r = run_poet(
      {"label", "--graph", fixture("poets_retrained/retrained_graph.pb").string(), "--labels",
       fixture("poets_retrained/retrained_labels.txt").string(), dir.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t a = r.out.find((dir / "a.JPG").string() + ":\n");
  size_t b = r.out.find((dir / "b.jpg").string() + ":\n");
  ASSERT_NE(a, std::string::npos) << r.out;
  ASSERT_NE(b, std::string::npos) << r.out;
  EXPECT_LT(a, b);
  EXPECT_EQ(label_lines(r.out).size(), 10u);  // 5 per image
}

TEST(LabelCli, Errors) {
  POET_REQUIRE_FIXTURE("poets_retrained/retrained_graph.pb");
  std::string graph = fixture("poets_retrained/retrained_graph.pb").string();
  CliResult r = run_poet({"label", "--graph", graph, "--labels",
                          fixture("poets_retrained/retrained_labels.txt").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no image given"), std::string::npos) << r.err;
  r = run_poet({"label", "--graph", graph, "--labels",
                fixture("poets_retrained/retrained_labels.txt").string(), "/no/such.jpg"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/no/such.jpg: no such image file or folder"), std::string::npos);
  // 1001 labels for a 6-class graph; two images, whose first header came before the error.
  r = run_poet({"label", "--graph", graph, "--labels",
                fixture("mobilenet_v1_0.25_128/labels.txt").string(),
                fixture("images/panda.jpg").string(), fixture("images/panda.jpg").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--labels " + fixture("mobilenet_v1_0.25_128/labels.txt").string() +
                       ": 1001 labels, but 'final_result:0' gives 6 scores"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");  // not even the image's header
}

// A graph retrained on Inception v3 has no `input` but a `Mul`: without --input_layer the error
// says where to feed it.
TEST(LabelCli, AnInceptionGraphWithoutInputLayerIsToldAboutMul) {
  POET_REQUIRE_FIXTURE("images/panda.jpg");
  TempDir dir;
  write_file_atomic(dir / "g.pbtxt", R"(
    node { name: "Mul" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node { name: "final_result" op: "Identity" input: "Mul"
           attr { key: "T" value { type: DT_FLOAT } } }
  )");
  write_file_atomic(dir / "labels.txt", "a\n");
  CliResult r = run_poet({"label", "--graph", (dir / "g.pbtxt").string(), "--labels",
                          (dir / "labels.txt").string(), fixture("images/panda.jpg").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("g.pbtxt: no node 'input' (the default --input_layer); a graph retrained "
                       "on Inception v3 is fed at --input_layer Mul"),
            std::string::npos)
      << r.err;
}

// retrain.py's defaults (4000 steps, learning rate 0.01, batch 100) on all 22 classes.
TEST(RetrainSlow, DefaultsReachNinetyPercentOnFruits) {
  POET_REQUIRE_FIXTURE(kMobileNet);
  POET_REQUIRE_FIXTURE(kFruits);
  TempDir dir;
  CliResult r = run_poet(retrain_args(fixture(kFruits), dir.path(), {"--random_seed", "1"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(final_accuracy(r.out), 90.0) << r.out;
}

// The second run reads every bottleneck from the cache, much faster, and with the same seed
// writes the same graph byte for byte; another seed writes another graph.
TEST(RetrainSlow, SecondRunReusesTheCacheAndRepeatsExactly) {
  POET_REQUIRE_FIXTURE(kMobileNet);
  POET_REQUIRE_FIXTURE(kFruits);
  TempDir dir;
  std::vector<std::string> flags = {"--how_many_training_steps", "200", "--random_seed", "5"};
  CliResult first = run_poet(retrain_args(fixture(kFruits), dir.path(), flags));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  std::string graph1 = read_file(dir / "retrained.pb", 1 << 30);
  CliResult second = run_poet(retrain_args(fixture(kFruits), dir.path(), flags));
  ASSERT_EQ(second.exit_code, 0) << second.err;
  BottleneckLine a = bottleneck_line(first.out), b = bottleneck_line(second.out);
  EXPECT_EQ(a.computed, 880);
  EXPECT_EQ(a.reused, 0);
  EXPECT_EQ(b.computed, 0);
  EXPECT_EQ(b.reused, 880);
  // Reuse is ~20x faster; 5x leaves room for a busy machine (times print to 0.01 s).
  EXPECT_GE(a.seconds, 5 * std::max(b.seconds, 0.01)) << first.out << second.out;
  EXPECT_EQ(read_file(dir / "retrained.pb", 1 << 30), graph1);

  flags[3] = "6";
  CliResult other = run_poet(retrain_args(fixture(kFruits), dir.path(), flags));
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_NE(read_file(dir / "retrained.pb", 1 << 30), graph1);
}

}  // namespace
}  // namespace poet::testing
