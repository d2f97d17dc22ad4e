// Locating ../shared/fixtures. Tests that need a fixture call POET_REQUIRE_FIXTURE, which skips
// the test with a message naming the missing file when the shared folder is absent.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace poet::testing {

inline std::filesystem::path fixture(const std::string& relative) {
  return std::filesystem::path(POET_FIXTURES_DIR) / relative;
}

// A fresh, empty directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace poet::testing

#define POET_REQUIRE_FIXTURE(relative)                                                   \
  do {                                                                                   \
    if (!std::filesystem::exists(::poet::testing::fixture(relative)))                    \
      GTEST_SKIP() << "fixture missing: " << ::poet::testing::fixture(relative).string() \
                   << " (needs ../shared/fixtures beside the checkout)";                 \
  } while (0)
