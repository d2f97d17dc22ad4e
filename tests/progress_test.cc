// Progress lines for long phases: the formatting (a pure function of done, total and elapsed
// time) and when plain-line output prints.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "trainer/summary/progress.h"

namespace poet::summary {
namespace {

TEST(ProgressFormat, RateAndEta) {
  // 120 of 880 in 2.094 s: 57.3/s, 760 left take 13.3 s.
  EXPECT_EQ(format_progress("bottlenecks", 120, 880, 2.094),
            "bottlenecks 120/880  57.3 images/s  ETA 0:13");
  EXPECT_EQ(format_progress("bottlenecks", 1, 10000, 1.0),
            "bottlenecks 1/10000  1.0 images/s  ETA 2:46:39");
  EXPECT_EQ(format_progress("steps", 50, 100, 25.0, "steps"),
            "steps 50/100  2.0 steps/s  ETA 0:25");
}

TEST(ProgressFormat, NothingToMeasureYet) {
  EXPECT_EQ(format_progress("bottlenecks", 0, 880, 5.0), "bottlenecks 0/880  - images/s  ETA -:--");
  EXPECT_EQ(format_progress("bottlenecks", 3, 880, 0.0), "bottlenecks 3/880  - images/s  ETA -:--");
}

TEST(ProgressFormat, Done) {
  EXPECT_EQ(format_progress("bottlenecks", 880, 880, 75.2),
            "bottlenecks 880/880  11.7 images/s  done in 1:15");
  EXPECT_EQ(format_progress("bottlenecks", 0, 0, 0.0), "bottlenecks 0/0  - images/s  done in 0:00");
}

TEST(ProgressFormat, Durations) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(59.4), "0:59");
  EXPECT_EQ(format_duration(59.6), "1:00");
  EXPECT_EQ(format_duration(3599), "59:59");
  EXPECT_EQ(format_duration(3600), "1:00:00");
  EXPECT_EQ(format_duration(-5), "0:00");
}

std::string read_all(std::FILE* f) {
  std::rewind(f);
  std::string out;
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  return out;
}

size_t count_lines(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }

// Into a file: the first update, each further tenth, and the final line; no redraw codes.
TEST(Progress, PlainLinesEveryTenth) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p("bottlenecks", 100, {.out = f, .interval_seconds = 3600});
    for (uint64_t i = 1; i <= 100; ++i) p.update(i);
    p.finish();
    p.finish();  // idempotent
  }
  std::string out = read_all(f);
  std::fclose(f);
  // update(1), then 10, 20, ..., 90, then finish's "done" line.
  EXPECT_EQ(count_lines(out), 11u) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_EQ(out.rfind("bottlenecks 1/100 ", 0), 0u) << out;
  EXPECT_NE(out.find("bottlenecks 10/100 "), std::string::npos) << out;
  EXPECT_NE(out.find("bottlenecks 100/100 "), std::string::npos) << out;
  EXPECT_NE(out.find("done in"), std::string::npos) << out;
}

TEST(Progress, RedrawRewritesOneLine) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p("bottlenecks", 10, {.out = f, .style = Progress::Options::Style::redraw});
    p.update(1);
    p.update(10);
  }  // the destructor finishes
  std::string out = read_all(f);
  std::fclose(f);
  EXPECT_EQ(out.rfind("\rbottlenecks 1/10  ", 0), 0u) << out;
  EXPECT_EQ(count_lines(out), 1u) << out;
  EXPECT_NE(out.find("\rbottlenecks 10/10  "), std::string::npos) << out;
  EXPECT_NE(out.find("\x1b[K"), std::string::npos);
}

}  // namespace
}  // namespace poet::summary
