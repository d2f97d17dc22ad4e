// Whole-file reads with a size bound, and atomic writes: data goes to a temporary file in the
// same directory, is flushed, then renamed over the target, so a crash or kill never leaves a
// half-written file under the real name.
#pragma once

#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace poet {

// Reads a file; an Error names it when it is missing, unreadable or larger than max_bytes.
std::string read_file(const std::filesystem::path& path, size_t max_bytes = size_t{1} << 31);

void write_file_atomic(const std::filesystem::path& path, std::string_view contents);
// Streams into the temporary file; the rename happens only when write returns normally.
void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& write);
// The same without the fsync, for caches that can be recomputed (bottleneck files): a killed
// process still never leaves a half-written file under the real name, but after a power cut
// the file may be empty or stale, so its readers must validate it.
void write_cache_file_atomic(const std::filesystem::path& path, std::string_view contents);

}  // namespace poet
