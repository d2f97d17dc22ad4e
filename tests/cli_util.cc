#include "tests/cli_util.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdio>
#include <regex>

#include "engine/error.h"
#include "engine/file_io.h"

extern char** environ;

namespace poet::testing {

CliResult run_poet(const std::vector<std::string>& args, const std::vector<std::string>& launcher) {
  return PoetProcess(args, launcher).wait();
}

std::vector<std::string> first_match(const std::string& text, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(pattern))) return {};
  return {m.begin(), m.end()};
}

double final_accuracy(const std::string& out) {
  const std::vector<std::string> m =
      first_match(out, R"(Final test accuracy = ([0-9.]+)% \(N=\d+\))");
  if (m.empty()) return -1;
  ::testing::Test::RecordProperty("final_test_accuracy", m[1]);
  std::printf("%s\n", m[0].c_str());
  return std::stod(m[1]);
}

PoetProcess::PoetProcess(const std::vector<std::string>& args,
                         const std::vector<std::string>& launcher) {
  std::string out_path = (dir_ / "stdout").string(), err_path = (dir_ / "stderr").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT, 0644);
  std::vector<std::string> argv_strings = launcher;
  argv_strings.push_back(POET_BINARY);
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) fail("cannot start ", argv[0]);
}

PoetProcess::~PoetProcess() {
  if (!reaped_) kill();
}

std::string PoetProcess::out() const { return read_file(dir_ / "stdout"); }
std::string PoetProcess::err() const { return read_file(dir_ / "stderr"); }

bool PoetProcess::running() {
  if (reaped_) return false;
  pid_t r = waitpid(pid_, &status_, WNOHANG);
  if (r == pid_ || r < 0) reaped_ = true;
  return !reaped_;
}

CliResult PoetProcess::kill() {
  if (running()) ::kill(pid_, SIGKILL);
  return wait();
}

CliResult PoetProcess::wait() {
  if (!reaped_) {
    waitpid(pid_, &status_, 0);
    reaped_ = true;
  }
  return result();
}

CliResult PoetProcess::result() const {
  CliResult r;
  r.exit_code = WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  r.out = out();
  r.err = err();
  return r;
}

}  // namespace poet::testing
