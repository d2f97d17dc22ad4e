// Runs the built `poet` binary as a user would and captures what it prints.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "tests/fixtures.h"

namespace poet::testing {

struct CliResult {
  int exit_code = -1;  // the process's exit status; 128 + signal when killed by a signal
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs POET_BINARY with `args` (no shell: arguments are passed as they are), through
// `launcher` when one is given (a command and its arguments, as setpriv's to drop privileges).
CliResult run_poet(const std::vector<std::string>& args,
                   const std::vector<std::string>& launcher = {});

// The first match of the ECMAScript `pattern` in `text`: the whole match, then each group;
// empty when nothing matches. (One place compiles <regex>, which costs seconds per file.)
std::vector<std::string> first_match(const std::string& text, const std::string& pattern);

// The final test accuracy in percent that `poet retrain` printed, -1 when it printed none; also
// recorded as the test's property final_test_accuracy and shown in the test log.
double final_accuracy(const std::string& out);

// POET_BINARY started with `args` and not waited for, so that a test can watch it and kill it.
// stdout and stderr go to files that can be read while it runs. The destructor kills
// (SIGKILL) and reaps a process still running, so a failed test leaves no process behind.
class PoetProcess {
 public:
  explicit PoetProcess(const std::vector<std::string>& args,
                       const std::vector<std::string>& launcher = {});
  ~PoetProcess();
  PoetProcess(const PoetProcess&) = delete;
  PoetProcess& operator=(const PoetProcess&) = delete;

  pid_t pid() const { return pid_; }
  // What it has printed so far.
  std::string out() const;
  std::string err() const;
  // False once it has exited (it is then reaped).
  bool running();
  // Sends SIGKILL (when still running) and reaps: exit_code is then 128 + 9.
  CliResult kill();
  // Waits for it to exit.
  CliResult wait();

 private:
  CliResult result() const;

  TempDir dir_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

}  // namespace poet::testing
