// The subcommands of the poet tool, one per cli/<name>.cc.
#pragma once

#include <span>

namespace poet::cli {

using Args = std::span<char*>;

int classify(Args args);
int run(Args args);
int inspect(Args args);
int bench(Args args);
int make_replica(Args args);
int convert(Args args);
int retrain(Args args);
int label(Args args);

}  // namespace poet::cli
