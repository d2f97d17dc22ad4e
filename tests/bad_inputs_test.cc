// Malformed files as users meet them (downloaded graphs, stale caches, hand-edited feeds):
// each row of tests/bad_inputs/cases.tsv must end in one clear error naming the file or node
// at fault and exit status 1, never a crash, a hang or a huge allocation.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "engine/file_io.h"
#include "engine/image_codec.h"
#include "importers/tensorflow/graphdef.h"
#include "tests/cli_util.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"
#include "trainer/summary/summary_writer.h"

namespace poet::testing {
namespace {

const std::filesystem::path kDir = std::filesystem::path(POET_SOURCE_DIR) / "tests/bad_inputs";

struct Case {
  std::string file, command, expect, what;
};

std::vector<Case> load_cases() {
  std::ifstream in(kDir / "cases.tsv");
  std::vector<Case> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols;
    std::stringstream ss(line);
    for (std::string col; std::getline(ss, col, '\t');) cols.push_back(col);
    if (cols.size() != 4) ADD_FAILURE() << "cases.tsv: expected 4 columns: " << line;
    if (cols.size() >= 3)
      cases.push_back({cols[0], cols[1], cols[2], cols.size() > 3 ? cols[3] : ""});
  }
  return cases;
}

std::string expand(std::string text, const std::string& path) {
  for (size_t at; (at = text.find("$FILE")) != std::string::npos;) text.replace(at, 5, path);
  return text;
}

// The error users see for one row, and the exit status.
CliResult run_case(const Case& c, const std::string& path) {
  if (c.command == "inspect") return run_poet({"inspect", path});
  if (c.command == "layout") {
    const std::string out = ::testing::TempDir() + "bad_inputs_layout.pb";
    CliResult r = run_poet({"convert", path, "-o", out, "--layout", "inception_v3_2015"});
    EXPECT_FALSE(std::filesystem::exists(out)) << "a failed convert wrote " << out;
    return r;
  }
  if (c.command == "feed")
    return run_poet({"run", "--graph", (kDir / "ok_identity.pbtxt").string(), "--feed",
                     "x:0=" + path, "--fetch", "y"});
  // Readers no subcommand reaches alone: called in-process, an Error counting as exit 1.
  auto in_process = [](const std::function<void()>& read) {
    CliResult r;
    try {
      read();
      r.exit_code = 0;
    } catch (const Error& e) {
      r.exit_code = 1;
      r.err = std::string("error: ") + e.what();
    }
    return r;
  };
  if (c.command == "events") return in_process([&] { summary::read_event_file(path); });
  if (c.command == "image") return in_process([&] { decode_image(read_file(path), 0, path); });
  ADD_FAILURE() << c.file << ": unknown command '" << c.command << "'";
  return {};
}

TEST(BadInputs, EveryRowFailsWithItsMessage) {
  std::vector<Case> cases = load_cases();
  ASSERT_GE(cases.size(), 30u) << "cases.tsv missing or cut short in " << kDir;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file + " (" + c.what + ")");
    std::string path = (kDir / c.file).string();
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    CliResult r = run_case(c, path);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(expand(c.expect, path)), std::string::npos)
        << "expected: " << expand(c.expect, path) << "\ngot: " << r.err;
  }
}

// Every file in the folder has a row (a new bad input must come with its expected error).
TEST(BadInputs, EveryFileHasARow) {
  std::set<std::string> listed{"cases.tsv", "ok_identity.pbtxt"};
  for (const Case& c : load_cases()) listed.insert(c.file);
  for (const auto& entry : std::filesystem::directory_iterator(kDir))
    EXPECT_TRUE(listed.count(entry.path().filename().string())) << entry.path();
}

TEST(BadInputs, TheGoodFeedRuns) {
  CliResult r =
      run_poet({"run", "--graph", (kDir / "ok_identity.pbtxt").string(), "--feed",
                "x:0=" + (kDir / "../fuzz/corpus/npy/f32_2x2.npy").string(), "--fetch", "y"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// Nesting deep enough to overflow the stack of an unbounded recursive parser (the text
// parser's default limit is INT_MAX): too big to keep as a file, so made here.
TEST(BadInputs, TextNestedAHundredThousandLevelsIsAnError) {
  constexpr int kDepth = 100000;
  std::string text = "node { name: \"x\" op: \"NoOp\" attr { key: \"a\" value { ";
  for (int i = 0; i < kDepth; ++i) text += "func { attr { key: \"a\" value { ";
  for (int i = 0; i < kDepth; ++i) text += "} } } ";
  text += "} } }";
  const std::string e = error_of([&] { tf::parse_graphdef(text, true, "deep.pbtxt"); });
  EXPECT_NE(e.find("deep.pbtxt: not a valid text GraphDef"), std::string::npos) << e;
  EXPECT_NE(e.find("recursion limit of 100"), std::string::npos) << e;
}

TEST(BadInputs, BinaryNestedAHundredThousandLevelsIsAnError) {
  // AttrValue{func: NameAttrList{attr {key: "a", value: ...}}}, built from the inside out.
  auto field = [](int number, const std::string& payload) {
    std::string out(1, static_cast<char>(number << 3 | 2));
    for (uint64_t n = payload.size();; n >>= 7) {
      out += static_cast<char>((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
      if (n < 0x80) break;
    }
    return out + payload;
  };
  std::string value;
  for (int i = 0; i < 2000; ++i) value = field(10, field(2, field(1, "a") + field(2, value)));
  std::string graph =
      field(1, field(1, "x") + field(2, "NoOp") + field(5, field(1, "a") + field(2, value)));
  EXPECT_THROW(tf::parse_graphdef(graph, false, "deep.pb"), Error);
}

// The expansion budget scales with the file: a graph whose bytes are real may hold repeated
// constants of up to 16 times its size, so legitimate zero-filled constants still load.
TEST(BadInputs, RepeatedConstantsWithinTheBudgetLoad) {
  tensorflow::GraphDef g;
  g = tf::parse_graphdef(R"(
    node { name: "w" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "value" value { tensor { dtype: DT_FLOAT
             tensor_shape { dim { size: 4096 } dim { size: 1024 } } float_val: 0 } } } })",
                         true, "zeros.pbtxt");
  Graph graph = tf::import_graphdef(std::move(g));
  EXPECT_TRUE(graph.node(0).import_error.empty()) << graph.node(0).import_error;
  EXPECT_EQ(graph.node(0).attr_tensor("value").num_elements(), 4096 * 1024);
}

}  // namespace
}  // namespace poet::testing
