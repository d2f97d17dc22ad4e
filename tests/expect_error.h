// Checks that a call fails the way poet reports failures: with a poet::Error whose message
// names what went wrong.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "engine/error.h"

namespace poet::testing {

// Runs `f` and expects a poet::Error whose message contains `fragment`.
inline void expect_error(const std::function<void()>& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing: " << fragment;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

}  // namespace poet::testing
