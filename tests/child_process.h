// Tests of process-wide limits (open files, file size, address space) run the code under test
// in a forked child, so that the limit they set ends with it.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

#include "engine/error.h"

namespace poet::testing {

// What `body` throws when run in a forked child: the poet::Error's message, "(no error)" when
// it returns, "(other exception)" for anything else. A child killed by a signal, or whose
// EXPECTs failed, fails the test; one still running after 20 s is killed (SIGALRM), so a hang
// fails it too.
inline std::string error_in_child(const std::function<void()>& body) {
  int fds[2];
  if (pipe(fds) != 0) {
    ADD_FAILURE() << "pipe failed";
    return "";
  }
  const bool failed_before = ::testing::Test::HasFailure();
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(20);
    close(fds[0]);
    std::string message = "(no error)";
    try {
      body();
    } catch (const Error& e) {
      message = e.what();
    } catch (...) {
      message = "(other exception)";
    }
    const bool sent =
        write(fds[1], message.data(), message.size()) == static_cast<ssize_t>(message.size());
    // A failed EXPECT inside `body` is the child's: its exit status carries it to the test.
    _exit(!sent ? 1 : ::testing::Test::HasFailure() && !failed_before ? 2 : 0);
  }
  close(fds[1]);
  std::string message;
  char buffer[4096];
  for (ssize_t n; pid > 0 && (n = read(fds[0], buffer, sizeof buffer)) > 0;)
    message.append(buffer, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) {
    ADD_FAILURE() << "fork or waitpid failed";
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ADD_FAILURE() << "the child " << (WIFSIGNALED(status) ? "was killed by signal " : "exited ")
                  << (WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  }
  return message;
}

// In a child: sets a resource limit, or fails with an Error naming it.
inline void set_limit(int resource, rlim_t value) {
  const rlimit limit{value, value};
  if (setrlimit(resource, &limit) != 0) fail("setrlimit(", resource, ", ", value, ") failed");
}

// In a child: the open-file limit lowered and descriptors held open up to it, so that the next
// open fails with EMFILE; closed again when this goes. UBSan's vptr check needs a descriptor or
// two the first time it meets a type, and reports a false "invalid vptr" without them. So the
// constructor first meets the types of an error path (a string stream, a ResourceError) while
// descriptors are free; run the code under test once with a good file before the fork, for the
// types of its own path (a file stream); and let this go before the error is read (end the
// scope that holds it).
class HeldDescriptors {
 public:
  HeldDescriptors() {
    try {
      throw ResourceError(str_cat("a type check while descriptors are free: ", 1));
    } catch (const Error& e) {
      (void)e.what();
    }
    set_limit(RLIMIT_NOFILE, 64);
    const int null = open("/dev/null", O_RDONLY);
    if (null < 0) fail("cannot open /dev/null");
    fds_.push_back(null);
    for (int fd; (fd = dup(null)) >= 0;) fds_.push_back(fd);
  }
  ~HeldDescriptors() {
    for (int fd : fds_) close(fd);
  }
  HeldDescriptors(const HeldDescriptors&) = delete;
  HeldDescriptors& operator=(const HeldDescriptors&) = delete;

 private:
  std::vector<int> fds_;
};

}  // namespace poet::testing
