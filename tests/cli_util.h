// Runs the built `poet` binary as a user would and captures what it prints.
#pragma once

#include <string>
#include <vector>

namespace poet::testing {

struct CliResult {
  int exit_code = -1;  // the process's exit status; 128 + signal when killed by a signal
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs POET_BINARY with `args` (no shell: arguments are passed as they are).
CliResult run_poet(const std::vector<std::string>& args);

}  // namespace poet::testing
