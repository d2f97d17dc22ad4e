// poet: TensorFlow image graphs without TensorFlow. One subcommand per file in cli/.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string_view>

#include "cli/commands.h"
#include "engine/error.h"

namespace {

struct Command {
  std::string_view name;
  int (*run)(poet::cli::Args);
  std::string_view summary;
};

constexpr Command kCommands[] = {
    {"classify", poet::cli::classify, "top-k ImageNet labels of images (classify_image.py)"},
    {"run", poet::cli::run, "feed .npy tensors to a graph, fetch tensors to .npy"},
    {"bench", poet::cli::bench, "images/s and per-layer GFLOP/s against the measured FMA peak"},
    {"inspect", poet::cli::inspect, "ops, inputs, outputs, shapes and FLOPs of a graph"},
    {"make-replica", poet::cli::make_replica, "write a replica graph (inception_v3, mobilenet_v1)"},
    {"retrain", poet::cli::retrain, "train a new final layer on your images (retrain.py)"},
    {"label", poet::cli::label, "label images with a retrained graph (label_image.py)"},
    {"convert", poet::cli::convert, "TF.js layers model -> frozen TensorFlow GraphDef"},
};

void usage() {
  std::fprintf(stderr, "usage: poet COMMAND [flags]   (poet COMMAND --help for its flags)\n\n");
  for (const Command& c : kCommands)
    std::fprintf(stderr, "  %-13s %.*s\n", c.name.data(), static_cast<int>(c.summary.size()),
                 c.summary.data());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  // A write past the file-size limit (`ulimit -f`) then fails with EFBIG, which the writer
  // reports, naming the file, and whose temporary file it removes; the signal's default action
  // killed poet with the temporary file left behind.
  std::signal(SIGXFSZ, SIG_IGN);
  for (const Command& c : kCommands) {
    if (c.name != argv[1]) continue;
    int status = 1;
    try {
      status = c.run(poet::cli::Args(argv + 2, argv + argc));
    } catch (const poet::Error& e) {
      std::fprintf(stderr, "poet %s: error: %s\n", argv[1], e.what());
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "poet %s: error: out of memory (std::bad_alloc)\n", argv[1]);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "poet %s: error: %s\n", argv[1], e.what());
    }
    // What a command prints is its result (scores, a report): one that could not be written
    // (a full disk, a closed pipe) is a failed run, not exit 0.
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      std::fprintf(stderr, "poet %s: error: cannot write to standard output (%s)\n", argv[1],
                   errno != 0 ? std::strerror(errno) : "a write failed");
      return 1;
    }
    return status;
  }
  std::fprintf(stderr, "poet: unknown command '%s'\n\n", argv[1]);
  usage();
  return 2;
}
