// Label files: plain lines, `index:label` lines, and Inception v3's label map + synsets pair.
#include <gtest/gtest.h>

#include "engine/error.h"
#include "engine/labels.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"

namespace poet::testing {
namespace {

using ::poet::testing::expect_error;
using Labels = std::vector<std::string>;

TEST(Labels, PlainLinesInOrder) {
  EXPECT_EQ(parse_labels("daisy\ndandelion\r\nroses  \n", "l.txt"),
            (Labels{"daisy", "dandelion", "roses"}));
  // Blank lines keep their position (label_image.py reads every line).
  EXPECT_EQ(parse_labels("a\n\nc", "l.txt"), (Labels{"a", "", "c"}));
  // A colon later in a line does not make it an indexed file.
  EXPECT_EQ(parse_labels("cat: tabby\ndog", "l.txt"), (Labels{"cat: tabby", "dog"}));
  EXPECT_EQ(parse_labels("", "l.txt"), Labels{});
}

TEST(Labels, IndexedLinesGoToTheirIndex) {
  EXPECT_EQ(parse_labels("0:background\n2:goldfish, Carassius auratus\n1:tench\n", "l.txt"),
            (Labels{"background", "tench", "goldfish, Carassius auratus"}));
  Labels gaps = parse_labels("3:three\n\n1:one\n", "l.txt");
  EXPECT_EQ(gaps, (Labels{"", "one", "", "three"}));
  EXPECT_EQ(label_at(gaps, 0), "");
  EXPECT_EQ(label_at(gaps, 3), "three");
  EXPECT_EQ(label_at(gaps, 4), "");
  EXPECT_EQ(label_at(gaps, -1), "");
}

TEST(Labels, IndexedErrorsNameFileAndLine) {
  expect_error([] { parse_labels("0:a\n1:b\n0:c\n", "dup.txt"); }, "dup.txt:3");
  // An absurd index makes the file plain text rather than a 10^12-entry table.
  EXPECT_EQ(parse_labels("999999999999:x", "big.txt"), (Labels{"999999999999:x"}));
}

TEST(Labels, ImagenetLabelMapAndSynsets) {
  std::string map =
      "# comment\nentry {\n  target_class: 2\n  target_class_string: \"n002\"\n}\n"
      "entry {\n  target_class: 0\n  target_class_string: \"n000\"\n}\n"
      "entry {\n  target_class: 3\n  target_class_string: \"n003\"\n}\n";
  // n003 is listed without words: classify_image.py names its class "".
  std::string synsets = "n000\tzero, nil\nn002\ttwo\nn003\t\nn005\tfive\n";
  EXPECT_EQ(parse_imagenet_labels(map, synsets, "map.pbtxt", "syn.txt"),
            (Labels{"zero, nil", "", "two", ""}));
  // An id the synsets lack stops classify_image.py ("Failed to locate"); an empty map or one
  // cut short is no map.
  testing::expect_error(
      [&] { parse_imagenet_labels(map, "n000\tzero\nn002\ttwo\n", "map.pbtxt", "syn.txt"); },
      "map.pbtxt:12: n003 is not in syn.txt");
  testing::expect_error([&] { parse_imagenet_labels("# none\n", synsets, "map.pbtxt", "syn.txt"); },
                        "map.pbtxt: no 'entry {");
  testing::expect_error(
      [&] { parse_imagenet_labels(map.substr(0, map.size() - 2), synsets, "map.pbtxt", "s"); },
      "map.pbtxt: its braces do not balance");
  EXPECT_THROW(parse_imagenet_labels("target_class: x\n", synsets, "map.pbtxt", "syn.txt"), Error);
  EXPECT_THROW(parse_imagenet_labels(map, "n000 no tab here\n", "map.pbtxt", "syn.txt"), Error);
  EXPECT_THROW(parse_imagenet_labels("target_class_string: \"n000\"\n", synsets, "m", "s"), Error);
}

TEST(Labels, Fixtures) {
  POET_REQUIRE_FIXTURE("mobilenet_v1_0.25_128/labels.txt");
  POET_REQUIRE_FIXTURE("imagenet/imagenet_synset_to_human_label_map.txt");
  Labels mobilenet = read_labels(fixture("mobilenet_v1_0.25_128/labels.txt"));
  ASSERT_EQ(mobilenet.size(), 1001u);
  EXPECT_EQ(mobilenet[0], "background");
  EXPECT_EQ(mobilenet[388], "lesser panda, red panda, panda, bear cat, cat bear, Ailurus fulgens");
  Labels inception =
      read_imagenet_labels(fixture("imagenet/imagenet_2012_challenge_label_map_proto.pbtxt"),
                           fixture("imagenet/imagenet_synset_to_human_label_map.txt"));
  EXPECT_EQ(label_at(inception, 169),
            "giant panda, panda, panda bear, coon bear, Ailuropoda melanoleuca");
  EXPECT_EQ(label_at(inception, 7),
            "lesser panda, red panda, panda, bear cat, cat bear, Ailurus fulgens");
  EXPECT_THROW(read_labels("/nonexistent/labels.txt"), Error);
}

}  // namespace
}  // namespace poet::testing
