// poet reports every failure as a poet::Error carrying a message a user can act on: it names
// the file, node, tensor or flag at fault. The CLI prints it and exits non-zero.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace poet {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A failure of the process's, not of the input it names: no file descriptor or memory left
// to open the file. A caller that would tell the user to replace the input passes it on as is.
class ResourceError : public Error {
 public:
  using Error::Error;
};

// Concatenates anything streamable: str_cat("node '", name, "' has ", n, " inputs").
template <class... Args>
std::string str_cat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}

template <class... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(str_cat(std::forward<Args>(args)...));
}

}  // namespace poet
