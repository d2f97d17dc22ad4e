// Whole-file reads with a size bound, and atomic writes: data goes to a temporary file in the
// same directory, is flushed, then renamed over the target, so a crash or kill never leaves a
// half-written file under the real name. A symbolic link stays a link (its target is
// replaced, as `cp` does); a directory, device or pipe at the path is an error, never replaced.
//
// Temporary files are named `.<target file name>.tmp-<writer pid>-<16 hex digits>`. A process
// killed while writing leaves its temporary file behind; the first atomic write into a folder
// by a later process removes every such file there whose writer is no longer running, so a
// rerun cleans up after a killed run. No reader ever opens these names.
#pragma once

#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace poet {

// Reads a file; an Error names it when it is missing, unreadable or larger than max_bytes.
std::string read_file(const std::filesystem::path& path, size_t max_bytes = size_t{1} << 31);

// Fails naming `path` when it is a directory, or exists and is not a regular file: opening a
// pipe blocks until a writer comes, and a device may never end. (A missing file is left to the
// open that follows, which says so.)
void check_regular_file(const std::filesystem::path& path);

// Throws for `path`, which an open(2) just failed to open, from errno: a ResourceError when
// the process, not the file, is at fault (no descriptor or memory left), else an Error.
[[noreturn]] void fail_to_open(const std::filesystem::path& path);
// Throws "<path>: write error (<reason>)" for a stream whose write to `path` failed: errno's
// reason (ENOSPC, EFBIG past `ulimit -f`, EIO), for which the caller sets errno to 0 before
// writing (a failed stream makes no further system calls), or "disk full?" where none is set.
[[noreturn]] void fail_to_write(const std::filesystem::path& path);

void write_file_atomic(const std::filesystem::path& path, std::string_view contents);
// Streams into the temporary file; the rename happens only when write returns normally.
void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& write);
// The same without the fsync, for caches that can be recomputed (bottleneck files): a killed
// process still never leaves a half-written file under the real name, but after a power cut
// the file may be empty or stale, so its readers must validate it. A symbolic link at `path`
// is replaced, not written through: a cache folder may be shared.
void write_cache_file_atomic(const std::filesystem::path& path, std::string_view contents);

// What check_can_write expects at a path: a file to write, or a directory to write files in.
enum class PathKind { kFile, kDirectory };

// Fails, with an Error starting with `flag` and `path`, unless the writers above could later
// write there: `path` is not the other kind already (nor a file file_to_write refuses), and
// the nearest existing ancestor of it (or of a link's target, where they start making
// directories) is a directory this process may write in. For the outputs of a
// long run, checked before the run instead of after it.
void check_can_write(const std::filesystem::path& path, PathKind kind, std::string_view flag);

// `path` made absolute, with links, "." and ".." resolved as far as it exists; empty if that
// fails. (std::filesystem::weakly_canonical alone leaves a relative path whose first part does
// not exist relative, and so unlike its absolute spelling.)
std::filesystem::path full_path(const std::filesystem::path& path);

// Whether two paths name one file: the same file when both exist (through links, or hard
// links), else the same full_path (a file not yet written).
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b);

// True for a name write_file_atomic gives its temporary files (a file name, not a path).
bool is_atomic_temp_name(std::string_view file_name);
// Removes the temporary files in `dir` (not its sub-folders) whose writing process is no
// longer running, and returns how many. Files of a running process, this one included, stay:
// that process may be about to rename them.
size_t remove_stale_temp_files(const std::filesystem::path& dir);

}  // namespace poet
