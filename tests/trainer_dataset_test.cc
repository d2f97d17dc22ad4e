// retrain.py's image folders: labels from folder names, and the stable SHA-1 split. The
// expected digests and percentages were computed independently (sha1sum and Python's int(),
// see each comment), not by poet.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/expect_error.h"
#include "tests/fixtures.h"
#include "trainer/dataset.h"

namespace poet::trainer {
namespace {

using ::poet::testing::expect_error;
using ::poet::testing::TempDir;

TEST(TrainerLabel, LowerCasesAndCollapsesOtherCharacters) {
  EXPECT_EQ(label_from_folder("Granny_Smith--Apple 2"), "granny smith apple 2");
  EXPECT_EQ(label_from_folder("apple_golden_1"), "apple golden 1");
  EXPECT_EQ(label_from_folder("__x__"), " x ");
  EXPECT_EQ(label_from_folder("roses"), "roses");
  EXPECT_EQ(label_from_folder("\xC3\x84"
                              "B"),
            " b");  // "ÄB": Ä is not in [a-z0-9]
  EXPECT_EQ(label_from_folder("\xE2\x84\xAA"
                              "iwi"),
            "kiwi");  // Kelvin sign lowers to 'k'
  EXPECT_EQ(label_from_folder("\xC4\xB0"
                              "stanbul"),
            "i stanbul");  // İ -> i + combining dot
}

TEST(TrainerSplit, JoinsLikeOsPathJoin) {
  EXPECT_EQ(join_path("photos", "roses"), "photos/roses");
  EXPECT_EQ(join_path("photos/", "roses"), "photos/roses");
  EXPECT_EQ(join_path("", "roses"), "roses");
  EXPECT_EQ(join_path("photos", "/abs"), "/abs");
}

TEST(TrainerSplit, HashNameDropsFromNohash) {
  EXPECT_EQ(hash_name("photos/roses/leaf_nohash_0.jpg"), "photos/roses/leaf");
  EXPECT_EQ(hash_name("photos/roses/img1.jpg"), "photos/roses/img1.jpg");
  // The whole path is searched, folders included, as re.sub does.
  EXPECT_EQ(hash_name("x/_nohash_y/z_nohash_1.jpg"), "x/");
  // '.' stops at a newline and '$' matches before a final one (checked with Python's re).
  EXPECT_EQ(hash_name("a_nohash_b\nc_nohash_d"), "a_nohash_b\nc");
  EXPECT_EQ(hash_name("a_nohash_b\n"), "a\n");
}

TEST(TrainerSplit, PercentageIsLow27BitsOfSha1) {
  // sha1("photos/roses/img1.jpg") = 0ed6cb5a...a135de19; mod 2^27 = 20307481.
  EXPECT_DOUBLE_EQ(split_percentage("photos/roses/img1.jpg"), 20307481 * (100.0 / 134217727));
  EXPECT_NEAR(split_percentage("photos/roses/img1.jpg"), 15.130252503829094, 1e-12);
  // sha1("photos/roses/leaf") = 80ee79c5...faee89954; mod 2^27 = 115906900.
  EXPECT_NEAR(split_percentage("photos/roses/leaf"), 86.3573706623716, 1e-12);
  // sha1("photos/roses/img14.jpg") = 8e156b10...400d3a07; mod 2^27 = 866823.
  EXPECT_NEAR(split_percentage("photos/roses/img14.jpg"), 0.6458334672885646, 1e-12);
  // sha1("img14.jpg") = 9f1b5823...53af81b2; mod 2^27 = 61833650.
  EXPECT_NEAR(split_percentage("img14.jpg"), 46.069659635943616, 1e-12);
}

TEST(TrainerSplit, AssignsByWholePathWithDefaultPercentages) {
  // Percentages (Python): img14 0.646, img25 9.619, img1 15.130, img31 12.135,
  // img2 72.949, leaf 86.357, /data/flowers/tulips/a b.JPEG 21.957.
  EXPECT_EQ(assign_split("photos/roses/img14.jpg", 10, 10), Split::kValidation);
  EXPECT_EQ(assign_split("photos/roses/img25.jpg", 10, 10), Split::kValidation);
  EXPECT_EQ(assign_split("photos/roses/img1.jpg", 10, 10), Split::kTesting);
  EXPECT_EQ(assign_split("photos/roses/img31.jpg", 10, 10), Split::kTesting);
  EXPECT_EQ(assign_split("photos/roses/img2.jpg", 10, 10), Split::kTraining);
  EXPECT_EQ(assign_split("photos/roses/leaf_nohash_0.jpg", 10, 10), Split::kTraining);
  EXPECT_EQ(assign_split("photos/roses/leaf_nohash_7.jpg", 10, 10), Split::kTraining);
  EXPECT_EQ(assign_split("/data/flowers/tulips/a b.JPEG", 10, 10), Split::kTraining);
  // The base name alone hashes elsewhere (46.07): the path matters.
  EXPECT_EQ(assign_split("img14.jpg", 10, 10), Split::kTraining);
  // "./photos" is another string (sha1 d4370d2b..., 50.395).
  EXPECT_EQ(assign_split("./photos/roses/img14.jpg", 10, 10), Split::kTraining);
  // Thresholds move with the flags: img1 (15.13) is validation under 20%, training under 0/15.
  EXPECT_EQ(assign_split("photos/roses/img1.jpg", 0, 20), Split::kValidation);
  EXPECT_EQ(assign_split("photos/roses/img1.jpg", 15, 0), Split::kTraining);
  EXPECT_EQ(assign_split("photos/roses/img1.jpg", 16, 0), Split::kTesting);
}

void touch(const std::filesystem::path& path) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << "x";
}

// Runs `body` with the working directory at `dir`, so image_dir can be a relative path.
template <class F>
void in_directory(const std::filesystem::path& dir, F body) {
  auto old = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  try {
    body();
  } catch (...) {
    std::filesystem::current_path(old);
    throw;
  }
  std::filesystem::current_path(old);
}

TEST(TrainerDataset, ScansSortedFoldersAndSplitsByHash) {
  TempDir tmp;
  // Percentages of "photos/roses/<name>" (Python): img14.jpg 0.646, img1.jpg 15.130,
  // img22.JPG 19.669, img2.jpg 72.949, leaf 86.357, img25.jpeg 26.018, img31.JPG 94.825.
  for (const char* f :
       {"img14.jpg", "img1.jpg", "img2.jpg", "leaf_nohash_0.jpg", "leaf_nohash_1.jpg", "img22.JPG",
        "img31.JPG", "img25.jpeg", "notes.txt", ".hidden.jpg", "img3.Jpg"})
    touch(tmp / "photos" / "roses" / f);
  touch(tmp / "photos" / "Daisy_Flowers" / "100_100.jpg");
  std::filesystem::create_directories(tmp / "photos" / "empty");
  in_directory(tmp.path(), [] {
    Dataset d = scan_image_dir("photos", 10, 10);
    ASSERT_EQ(d.classes.size(), 2u);
    EXPECT_EQ(d.classes[0].dir_name, "Daisy_Flowers");  // 'D' sorts before 'r'
    EXPECT_EQ(d.classes[0].label, "daisy flowers");
    EXPECT_EQ(d.classes[1].label, "roses");
    const ImageClass& roses = d.classes[1];
    // Per extension (jpg, jpeg, JPG, JPEG), names sorted within each.
    EXPECT_EQ(roses.validation, (std::vector<std::string>{"img14.jpg"}));
    EXPECT_EQ(roses.testing, (std::vector<std::string>{"img1.jpg", "img22.JPG"}));
    EXPECT_EQ(roses.training,
              (std::vector<std::string>{"img2.jpg", "leaf_nohash_0.jpg", "leaf_nohash_1.jpg",
                                        "img25.jpeg", "img31.JPG"}));
    EXPECT_EQ(d.image_path(roses, "img2.jpg"), "photos/roses/img2.jpg");
    EXPECT_EQ(d.labels_text(), "daisy flowers\nroses\n");
    // Empty folder skipped with a warning; both classes under 20 images warned about.
    ASSERT_EQ(d.warnings.size(), 3u);
    EXPECT_NE(d.warnings[0].find("photos/Daisy_Flowers: only 1 images"), std::string::npos);
    EXPECT_NE(d.warnings[1].find("photos/empty: no images"), std::string::npos);
    EXPECT_NE(d.warnings[2].find("photos/roses: only 8 images"), std::string::npos);
    // A trailing slash joins to the same paths, hence the same split.
    Dataset slash = scan_image_dir("photos/", 10, 10);
    EXPECT_EQ(slash.classes[1].validation, roses.validation);
    EXPECT_EQ(slash.classes[1].testing, roses.testing);
  });
}

TEST(TrainerDataset, TwentyImagesGiveNoWarning) {
  TempDir tmp;
  for (int i = 0; i < 20; ++i) {
    touch(tmp / "a" / ("a" + std::to_string(i) + ".jpg"));
    touch(tmp / "b" / ("b" + std::to_string(i) + ".jpg"));
  }
  Dataset d = scan_image_dir(tmp.path().string(), 10, 10);
  EXPECT_TRUE(d.warnings.empty());
  size_t total = 0;
  for (Split s : {Split::kTraining, Split::kTesting, Split::kValidation})
    total += d.classes[0].images(s).size();
  EXPECT_EQ(total, 20u);
}

TEST(TrainerDataset, Errors) {
  TempDir tmp;
  std::string dir = tmp.path().string();
  expect_error([&] { scan_image_dir(dir + "/missing", 10, 10); }, dir + "/missing: no such");
  expect_error([&] { scan_image_dir(dir, 10, 10); }, dir + ": no folders of images");
  touch(tmp / "only" / "x.jpg");
  expect_error([&] { scan_image_dir(dir, 10, 10); }, "only one folder of images found ('only')");
  touch(tmp / "Only" / "y.jpg");
  expect_error([&] { scan_image_dir(dir, 10, 10); },
               "folders 'Only' and 'only' both give the label 'only'");
  expect_error([&] { scan_image_dir(dir, -1, 10); }, "--testing_percentage -1");
  expect_error([&] { scan_image_dir(dir, 10, 101); }, "--validation_percentage 101");
  expect_error([&] { scan_image_dir(dir, 60, 50); }, "is more than 100");
  // A link to nothing under an image's name: retrain.py would stop when it reads it.
  std::filesystem::create_symlink(tmp / "gone.jpg", tmp / "only" / "z.jpg");
  expect_error([&] { scan_image_dir(dir, 10, 10); },
               (tmp / "only" / "z.jpg").string() + ": a link to nothing");
  std::filesystem::remove(tmp / "only" / "z.jpg");
  // Nor a folder or a pipe under an image's name, which were left out without a word (and a
  // pipe would have held retrain.py's read forever).
  std::filesystem::create_directories(tmp / "only" / "d.jpg");
  expect_error([&] { scan_image_dir(dir, 10, 10); },
               (tmp / "only" / "d.jpg").string() + ": not a regular file");
  std::filesystem::remove(tmp / "only" / "d.jpg");
  ASSERT_EQ(mkfifo((tmp / "only" / "p.jpeg").c_str(), 0600), 0);
  expect_error([&] { scan_image_dir(dir, 10, 10); },
               (tmp / "only" / "p.jpeg").string() +
                   ": not a regular file (a folder, pipe, device or socket); remove or replace it "
                   "in --image_dir");
}

}  // namespace
}  // namespace poet::trainer
