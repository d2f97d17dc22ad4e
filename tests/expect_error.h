// Checking that a call fails the way poet reports failures: with a poet::Error whose message
// names what went wrong. A failed check is reported at the line that called it: the default
// arguments __builtin_FILE() and __builtin_LINE() take the caller's (std::source_location
// would do the same, but clang 14, which builds the sanitizer tests, lacks it).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>

#include "engine/error.h"

namespace poet::testing {

// The message of the poet::Error `f` throws, or nothing when it returns.
inline std::optional<std::string> thrown_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return std::nullopt;
}

// The message of the poet::Error `f` throws; fails the test, and returns "", when it throws
// none.
inline std::string error_of(const std::function<void()>& f, const char* file = __builtin_FILE(),
                            int line = __builtin_LINE()) {
  std::optional<std::string> message = thrown_message(f);
  if (!message) {
    ADD_FAILURE_AT(file, line) << "expected a poet::Error";
    return "";
  }
  return *message;
}

// Expects `f` to throw a poet::Error whose message contains `fragment`.
inline void expect_error(const std::function<void()>& f, const std::string& fragment,
                         const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  const std::optional<std::string> message = thrown_message(f);
  if (!message || message->find(fragment) == std::string::npos)
    ADD_FAILURE_AT(file, line) << "expected a poet::Error containing: " << fragment
                               << (message ? "\ngot: " + *message
                                           : std::string("\nnone was thrown"));
}

}  // namespace poet::testing
