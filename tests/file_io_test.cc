// Atomic writes: temporary file names, and the cleanup of those a killed writer left behind.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/file_io.h"
#include "importers/tensorflow/graphdef.h"
#include "importers/tensorflow/replicas/mobilenet_v1.h"
#include "tests/child_process.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"

namespace poet {
namespace {

std::vector<std::string> names_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A pid that no running process has: a child's, once it has exited and been reaped.
pid_t dead_pid() {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  int status = 0;
  waitpid(pid, &status, 0);
  return pid;
}

TEST(AtomicTempName, RecognisesOnlyTheWritersPattern) {
  EXPECT_TRUE(is_atomic_temp_name(".g.pb.tmp-123-0123456789abcdef"));
  EXPECT_TRUE(is_atomic_temp_name(".a.tmp-1.txt.tmp-9-ffffffffffffffff"));  // last marker counts
  EXPECT_FALSE(is_atomic_temp_name("g.pb.tmp-123-0123456789abcdef"));       // no leading dot
  EXPECT_FALSE(is_atomic_temp_name(".g.pb.tmp-123-0123456789abcde"));       // 15 digits
  EXPECT_FALSE(is_atomic_temp_name(".g.pb.tmp-123-0123456789ABCDEF"));      // upper case
  EXPECT_FALSE(is_atomic_temp_name(".g.pb.tmp-0-0123456789abcdef"));        // no pid 0
  EXPECT_FALSE(is_atomic_temp_name(".g.pb.tmp-x1-0123456789abcdef"));
  EXPECT_FALSE(is_atomic_temp_name(".tmp-1-0123456789abcdef"));    // no target name
  EXPECT_FALSE(is_atomic_temp_name(".g.pb.tmp0123456789abcdef"));  // the old unnamed-pid form
  EXPECT_FALSE(is_atomic_temp_name("1.jpg_mobilenet_0.25_128.txt"));
}

// A write the system stops (disk full, or here the file-size limit) is named as one, with the
// system's reason, for a binary graph as for any file: the graph writer's own stream saw it
// first and said "cannot serialise the graph". The file there before is kept, and no temporary file
// is left.
TEST(AtomicWrite, AWriteTheSystemStopsIsAWriteErrorAndKeepsTheOldFile) {
  testing::TempDir dir;
  const std::filesystem::path path = dir / "g.pb";
  write_file_atomic(path, "old");
  const tensorflow::GraphDef graph_def =
      tf::replicas::mobilenet_v1(0.25, 128, tf::replicas::seeded_weights(1)).graph_def;
  const std::string error = testing::error_in_child([&] {
    std::signal(SIGXFSZ, SIG_IGN);  // a write past the limit then fails with EFBIG
    testing::set_limit(RLIMIT_FSIZE, 1 << 16);
    tf::write_graphdef(graph_def, path);
  });
  EXPECT_EQ(error, path.string() + ": write error (File too large)");
  EXPECT_EQ(read_file(path), "old");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"g.pb"});
}

// With no file descriptor left (`ulimit -n` too low), a file that cannot be opened is not
// blamed: the error is a ResourceError, which retrain passes on (trainer tests), for whole-file
// reads and for the binary graph reader, which parses from its descriptor.
TEST(ReadFile, AFileOpenedPastTheDescriptorLimitIsNotBlamed) {
  testing::TempDir dir;
  const std::filesystem::path path = dir / "g.pb";
  tf::write_graphdef(
      tf::replicas::mobilenet_v1(0.25, 128, tf::replicas::seeded_weights(1)).graph_def, path);
  const std::function<void()> reads[] = {[&] { read_file(path); },
                                         [&] { tf::read_graphdef(path); }};
  for (const std::function<void()>& read : reads) {
    // A good file; and the sanitizers' type checks cached before the fork (HeldDescriptors).
    ASSERT_NO_THROW(read());
    const std::string error = testing::error_in_child([&] {
      try {
        const testing::HeldDescriptors held;
        read();
      } catch (const ResourceError& e) {
        throw Error(str_cat("ResourceError: ", e.what()));
      }
    });
    EXPECT_EQ(error, "ResourceError: " + path.string() +
                         ": cannot open (Too many open files; the file is not at fault: raise "
                         "`ulimit -n` or free memory)");
  }
}

TEST(AtomicWrite, LeavesOnlyTheTarget) {
  testing::TempDir dir;
  write_file_atomic(dir / "a.txt", "one");
  write_cache_file_atomic(dir / "b.txt", "two");
  write_file_atomic(dir / "a.txt", "three");
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"a.txt", "b.txt"}));
  EXPECT_EQ(read_file(dir / "a.txt"), "three");
}

// The temporary file's name adds about 30 characters to the target's: a target near the
// file system's 255 failed with "File name too long".
TEST(AtomicWrite, ATargetNameNearTheLimitIsWritten) {
  testing::TempDir dir;
  const std::string name = std::string(250, 'x') + ".txt";
  write_file_atomic(dir / name, "long");
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{name}));
  EXPECT_EQ(read_file(dir / name), "long");
  // Cut where it fits, the temporary name would end inside a two-byte character ("\u00e9"), and
  // some file systems refuse invalid UTF-8: the writer's file, seen while it writes, keeps
  // whole characters.
  // One byte more or less before them moves the cut across a character, whatever the length
  // of this process's id in the suffix.
  std::string accented;
  for (int i = 0; i < 120; ++i) accented += "\u00e9";
  for (const std::string& target : {accented, "x" + accented}) {
    testing::TempDir other;
    std::vector<std::string> during;
    write_file_atomic(other / target, [&](std::ostream&) { during = names_in(other.path()); });
    ASSERT_EQ(during.size(), 1u);
    EXPECT_TRUE(is_atomic_temp_name(during[0])) << during[0];
    const std::string kept = during[0].substr(1, during[0].rfind(".tmp-") - 1);
    EXPECT_EQ(target.rfind(kept, 0), 0u);
    EXPECT_NE(static_cast<unsigned char>(kept.back()), 0xC3) << "ends inside a character";
  }
}

// A killed writer that its parent has not reaped (a zombie) still answers kill(pid, 0): its
// temporary file stayed, and in a complete cache, which no later run writes into, for good.
TEST(AtomicWrite, AZombieWritersTempFileIsStale) {
  testing::TempDir dir;
  const pid_t zombie = fork();
  ASSERT_GE(zombie, 0);
  if (zombie == 0) _exit(0);
  // Unreaped until the end of the test: wait until it has exited.
  siginfo_t info{};
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(zombie), &info, WEXITED | WNOWAIT), 0);
  const std::string name = str_cat(".c.txt.tmp-", zombie, "-0123456789abcdef");
  write_cache_file_atomic(dir / "sub" / name, "partial");
  EXPECT_EQ(remove_stale_temp_files(dir / "sub"), 1u);
  int status = 0;
  waitpid(zombie, &status, 0);
}

// A killed run's temporary file goes on the next run's first write into the folder, whatever
// its target; a running writer's file (this process's), and files of other names, stay.
TEST(AtomicWrite, FirstWriteIntoAFolderRemovesStaleTempFiles) {
  testing::TempDir dir;
  std::string stale = str_cat(".old.pb.tmp-", dead_pid(), "-0123456789abcdef");
  std::string live = str_cat(".x.pb.tmp-", getpid(), "-0123456789abcdef");
  for (const std::string& name : {stale, live, std::string(".hidden"), std::string("keep.tmp")})
    write_cache_file_atomic(dir / "sub" / name, "partial");
  EXPECT_EQ(remove_stale_temp_files(dir / "sub"), 1u);
  EXPECT_EQ(names_in(dir / "sub"), (std::vector<std::string>{".hidden", live, "keep.tmp"}));

  // This process already swept "sub" (its first write there); a new folder is swept on the
  // first write, before the temporary file of that write exists.
  std::filesystem::create_directories(dir / "other");
  for (const std::string& name : {stale, live})
    std::filesystem::copy_file(dir / "sub" / ".hidden", dir / "other" / name);
  write_file_atomic(dir / "other" / "new.pb", "graph");
  EXPECT_EQ(names_in(dir / "other"), (std::vector<std::string>{live, "new.pb"}));
}

// Outputs are checked before a long run: folders still to be made pass, and a file where a
// directory must be (or the reverse) fails naming the flag and the path.
TEST(CheckCanWrite, PassesWhereTheWritersCouldWriteAndNamesTheFlagElsewhere) {
  testing::TempDir dir;
  write_file_atomic(dir / "file", "x");
  std::filesystem::create_directories(dir / "sub");
  for (const auto& path : {dir / "new.pb", dir / "a" / "b" / "new.pb", dir / "file"})
    EXPECT_EQ(testing::thrown_message([&] { check_can_write(path, PathKind::kFile, "--out"); }),
              std::nullopt)
        << path;
  for (const auto& path : {dir / "sub", dir / "a" / "b", dir.path()})
    EXPECT_EQ(testing::thrown_message([&] { check_can_write(path, PathKind::kDirectory, "--d"); }),
              std::nullopt)
        << path;
  // A relative path's nearest existing ancestor is the working directory.
  EXPECT_EQ(testing::thrown_message([] { check_can_write("x/y.pb", PathKind::kFile, "--out"); }),
            std::nullopt);

  const std::string file = (dir / "file").string();
  testing::expect_error(
      [&] { check_can_write(dir / "sub", PathKind::kFile, "--output_graph"); },
      "--output_graph " + (dir / "sub").string() + ": is a directory, not a file");
  testing::expect_error([&] { check_can_write(file, PathKind::kDirectory, "--summaries_dir"); },
                        "--summaries_dir " + file + ": is a file, not a directory");
  testing::expect_error(
      [&] { check_can_write(dir / "file" / "a" / "g.pb", PathKind::kFile, "--output_graph"); },
      ": " + file + " is a file, not a directory");
  testing::expect_error(
      [&] { check_can_write(file + "/", PathKind::kDirectory, "--bottleneck_dir"); },
      "--bottleneck_dir " + file + "/: " + file + " is a file, not a directory");
}

// A link is written through, as `cp` does: the link stays, what it points at gets the data,
// even when that does not exist yet.
TEST(AtomicWrite, WritesThroughASymbolicLink) {
  namespace fs = std::filesystem;
  testing::TempDir dir;
  fs::create_directories(dir / "real");
  write_file_atomic(dir / "real" / "target", "old");
  fs::create_symlink("real/target", dir / "link");
  fs::create_symlink(dir / "real" / "new", dir / "dangling");
  check_can_write(dir / "link", PathKind::kFile, "--out");
  write_file_atomic(dir / "link", "new");
  write_file_atomic(dir / "dangling", "made");
  EXPECT_TRUE(fs::is_symlink(dir / "link"));
  EXPECT_TRUE(fs::is_symlink(dir / "dangling"));
  EXPECT_EQ(read_file(dir / "real" / "target"), "new");
  EXPECT_EQ(read_file(dir / "real" / "new"), "made");
}

// A rename over a pipe (or a device: /dev/full, /dev/null) would replace it with a plain file.
// A cache file's name holding a link (planted in a shared cache folder such as the default
// /tmp/bottleneck) had the file it points at overwritten. The link itself is replaced.
TEST(AtomicWrite, ACacheWriteReplacesALinkNotWhatItPointsAt) {
  namespace fs = std::filesystem;
  testing::TempDir dir;
  write_file_atomic(dir / "victim.txt", "someone's file");
  fs::create_directories(dir / "cache");
  fs::create_symlink(dir / "victim.txt", dir / "cache" / "x.jpg_arch.txt");
  write_cache_file_atomic(dir / "cache" / "x.jpg_arch.txt", "1,2,3");
  EXPECT_EQ(read_file(dir / "victim.txt"), "someone's file");
  EXPECT_FALSE(fs::is_symlink(fs::symlink_status(dir / "cache" / "x.jpg_arch.txt")));
  EXPECT_EQ(read_file(dir / "cache" / "x.jpg_arch.txt"), "1,2,3");
}

TEST(AtomicWrite, NeverReplacesWhatIsNotARegularFile) {
  namespace fs = std::filesystem;
  testing::TempDir dir;
  const fs::path fifo = dir / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string message = ": is not a regular file (a device, pipe or socket)";
  testing::expect_error([&] { write_file_atomic(fifo, "x"); }, fifo.string() + message);
  testing::expect_error([&] { check_can_write(fifo, PathKind::kFile, "--out"); },
                        "--out " + fifo.string() + message);
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_EQ(std::vector<fs::path>(fs::directory_iterator(dir.path()), {}),
            std::vector<fs::path>{fifo});
}

TEST(SameFile, ThroughLinksDotsAndFilesNotYetWritten) {
  namespace fs = std::filesystem;
  testing::TempDir dir;
  write_file_atomic(dir / "a", "x");
  fs::create_symlink(dir / "a", dir / "link");
  fs::create_directories(dir / "sub");
  EXPECT_TRUE(same_file(dir / "a", dir / "link"));
  EXPECT_TRUE(same_file(dir / "a", dir / "sub" / ".." / "a"));
  EXPECT_TRUE(same_file(dir / "new" / "b", dir / "sub" / ".." / "new" / "." / "b"));
  EXPECT_FALSE(same_file(dir / "a", dir / "new" / "a"));
  EXPECT_FALSE(same_file(dir / "a", dir / "sub"));
}

// A relative path whose first part does not exist stayed relative once resolved, and so unlike
// its absolute spelling: --output_labels l.txt and --output_graph $PWD/l.txt passed as two files.
TEST(SameFile, ARelativeSpellingOfAFileNotYetWritten) {
  namespace fs = std::filesystem;
  const fs::path relative = "poet-not-there/l.txt";
  ASSERT_FALSE(fs::exists("poet-not-there"));
  EXPECT_TRUE(same_file(relative, fs::current_path() / relative));
  EXPECT_TRUE(same_file("./" / relative, fs::current_path() / "poet-not-there" / "." / "l.txt"));
  EXPECT_EQ(full_path(relative), fs::current_path() / relative);
  EXPECT_FALSE(same_file(relative, fs::current_path() / "poet-not-there" / "m.txt"));
}

TEST(CheckCanWrite, AFileNameMustNameAFile) {
  testing::TempDir dir;
  testing::expect_error([] { check_can_write("", PathKind::kFile, "--out"); },
                        "--out : an empty file name");
  const std::string slash = (dir / "new" / "").string();
  testing::expect_error([&] { check_can_write(slash, PathKind::kFile, "--out"); },
                        "--out " + slash + ": ends in '/', a directory's name, not a file's");
  testing::expect_error([&] { write_file_atomic(slash, "x"); }, slash + ": ends in '/'");
  EXPECT_FALSE(std::filesystem::exists(dir / "new"));
  // A name longer than a file system allows passed the check, and the run failed at its rename,
  // after the work.
  const std::string long_name = (dir / std::string(256, 'c')).string();
  testing::expect_error([&] { check_can_write(long_name, PathKind::kFile, "--out"); },
                        "--out " + long_name +
                            ": the file name is 256 bytes, over the 255 a "
                            "file system allows");
  check_can_write((dir / std::string(255, 'c')).string(), PathKind::kFile, "--out");
}

}  // namespace
}  // namespace poet
