#include "engine/file_io.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>

#include "engine/error.h"

namespace poet {
namespace {

std::string errno_text() { return std::strerror(errno); }

void fsync_path(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::function<void(std::ostream&)> write_string(std::string_view contents) {
  return [contents](std::ostream& out) {
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  };
}

}  // namespace

void check_regular_file(const std::filesystem::path& path) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (std::filesystem::is_directory(status)) fail(path.string(), ": is a directory, not a file");
  if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status))
    fail(path.string(),
         ": is not a regular file (a pipe, device or socket); poet reads whole files");
}

void fail_to_open(const std::filesystem::path& path) {
  if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
    throw ResourceError(str_cat(path.string(), ": cannot open (", errno_text(),
                                "; the file is not at fault: raise `ulimit -n` or free memory)"));
  fail(path.string(), ": cannot open (", errno_text(), ")");
}

void fail_to_write(const std::filesystem::path& path) {
  fail(path.string(), ": write error (", errno ? errno_text() : "disk full?", ")");
}

std::string read_file(const std::filesystem::path& path, size_t max_bytes) {
  check_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_to_open(path);
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0) fail(path.string(), ": cannot determine the file size");
  if (static_cast<uint64_t>(size) > max_bytes)
    fail(path.string(), ": file is ", size, " bytes, more than the limit of ", max_bytes);
  in.seekg(0);
  std::string data(static_cast<size_t>(size), '\0');
  if (!in.read(data.data(), size)) fail(path.string(), ": read error");
  return data;
}

namespace {

// Whether a write to a symbolic link replaces the file it points at (a user's output, as `cp`
// does) or the link itself (a cache file: in a shared folder such as the default
// /tmp/bottleneck, another user's link would have had poet overwrite a file of its choosing).
enum class Links { kFollow, kReplace };

// What a write asked to write `path` replaces: with Links::kFollow the file a symbolic link
// points at (the link stays), else `path` itself. Fails, starting with `where`, when `path`
// cannot be a file's name or names something a rename must not replace.
std::filesystem::path file_to_write(const std::filesystem::path& path, std::string_view where,
                                    Links links = Links::kFollow) {
  namespace fs = std::filesystem;
  if (path.empty()) fail(where, "an empty file name");
  if (!path.has_filename()) fail(where, "ends in '/', a directory's name, not a file's");
  // Caught here, by check_can_write too, rather than by the rename after the work.
  if (const size_t bytes = path.filename().string().size(); bytes > NAME_MAX)
    fail(where, "the file name is ", bytes, " bytes, over the ", NAME_MAX, " a file system allows");
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (fs::is_directory(status)) fail(where, "is a directory, not a file");
  // A rename over a device or a pipe would replace it with a plain file.
  if (fs::exists(status) && !fs::is_regular_file(status))
    fail(where, "is not a regular file (a device, pipe or socket); poet writes whole files");
  if (links == Links::kReplace) return path;
  // A link stays a link, as with `cp`: what it points at is replaced.
  fs::path target = path;
  for (int hops = 0; hops < 40 && fs::is_symlink(fs::symlink_status(target, ec)); ++hops) {
    fs::path link = fs::read_symlink(target, ec);
    target = link.is_absolute() ? link : target.parent_path() / link;
  }
  return target;
}

}  // namespace

void check_can_write(const std::filesystem::path& path, PathKind kind, std::string_view flag) {
  namespace fs = std::filesystem;
  const std::string where = str_cat(flag, " ", path.string(), ": ");
  std::error_code ec;
  if (kind == PathKind::kDirectory) {
    const fs::file_status status = fs::status(path, ec);
    if (fs::exists(status) && !fs::is_directory(status)) fail(where, "is a file, not a directory");
  }
  fs::path dir = kind == PathKind::kDirectory ? path : file_to_write(path, where).parent_path();
  for (;;) {
    if (dir.empty()) dir = ".";
    if (fs::exists(fs::status(dir, ec))) break;
    fs::path up = dir.parent_path();
    if (up == dir) break;
    dir = std::move(up);
  }
  if (!fs::is_directory(dir, ec)) fail(where, dir.string(), " is a file, not a directory");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    fail(where, "cannot write in ", dir.string(), " (", errno_text(), ")");
}

std::filesystem::path full_path(const std::filesystem::path& path) {
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  if (ec) return {};
  std::filesystem::path full = std::filesystem::weakly_canonical(absolute, ec);
  return ec ? std::filesystem::path() : full;
}

bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
  std::error_code ec;
  if (std::filesystem::equivalent(a, b, ec)) return true;
  const std::filesystem::path fa = full_path(a);
  return !fa.empty() && fa == full_path(b);
}

namespace {

constexpr std::string_view kTempMarker = ".tmp-";
constexpr size_t kTempHexDigits = 16;

// The pid in a temporary file's name, or 0 when the name is not one of ours.
pid_t temp_file_writer(std::string_view name) {
  size_t marker = name.rfind(kTempMarker);
  if (!name.starts_with('.') || marker == std::string_view::npos || marker < 2) return 0;
  std::string_view rest = name.substr(marker + kTempMarker.size());
  size_t dash = rest.find('-');
  if (dash == std::string_view::npos) return 0;
  std::string_view hex = rest.substr(dash + 1);
  auto is_hex = [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
  };
  if (hex.size() != kTempHexDigits || !std::all_of(hex.begin(), hex.end(), is_hex)) return 0;
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + dash, pid);
  if (ec != std::errc() || end != rest.data() + dash || pid <= 0) return 0;
  return pid;
}

// A killed process whose parent has not reaped it yet (a zombie) still answers kill(pid, 0),
// but writes nothing more: its state in /proc says so ('Z').
bool process_running(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;  // no /proc: take it as running
  const size_t name_end = line.rfind(')');     // the name, in parentheses, may hold spaces
  return name_end == std::string::npos || name_end + 2 >= line.size() || line[name_end + 2] != 'Z';
}

std::filesystem::path temp_path(const std::filesystem::path& dir,
                                const std::filesystem::path& target) {
  std::random_device rd;
  char hex[kTempHexDigits + 1];
  std::snprintf(hex, sizeof hex, "%08x%08x", rd(), rd());
  const std::string suffix = str_cat(kTempMarker, ::getpid(), "-", hex);
  // The target's name is cut so that the temporary one fits NAME_MAX too (a cache file is named
  // after its image, and may be near it already).
  std::string name = target.filename().string();
  if (const size_t room = size_t{NAME_MAX} - 1 - suffix.size(); name.size() > room) {
    name.resize(room);
    // Not inside a UTF-8 character, which some file systems refuse in a name: drop the cut one.
    while (!name.empty() && (static_cast<unsigned char>(name.back()) & 0xC0) == 0x80)
      name.pop_back();
    if (!name.empty() && static_cast<unsigned char>(name.back()) >= 0xC0) name.pop_back();
  }
  return dir / str_cat(".", name, suffix);
}

// Sweeps each folder once per process, on the first write into it: a folder of many cache
// files would otherwise be listed again for every file written into it.
void sweep_once(const std::filesystem::path& dir) {
  static std::mutex mutex;
  static std::set<std::string> swept;
  std::error_code ec;
  std::string key = std::filesystem::absolute(dir, ec).lexically_normal().string();
  {
    std::lock_guard lock(mutex);
    if (!swept.insert(key).second) return;
  }
  remove_stale_temp_files(dir);
}

// `sync`: fsync the file and its folder.
void write_atomic(const std::filesystem::path& named,
                  const std::function<void(std::ostream&)>& write, bool sync, Links links) {
  const std::filesystem::path path = file_to_write(named, str_cat(named.string(), ": "), links);
  std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  sweep_once(dir);
  std::filesystem::path tmp = temp_path(dir, path);
  try {
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out)
        fail(path.string(), ": cannot create a file in ", dir.string(), " (", errno_text(), ")");
      errno = 0;
      write(out);
      out.flush();
      if (!out) fail_to_write(path);
    }
    if (sync) fsync_path(tmp);
    std::filesystem::rename(tmp, path, ec);
    if (ec)
      fail(path.string(), ": cannot rename the finished file into place (", ec.message(), ")");
    if (sync) fsync_path(dir);  // makes the rename itself survive a power cut
  } catch (...) {
    std::filesystem::remove(tmp, ec);
    throw;
  }
}

}  // namespace

void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& write) {
  write_atomic(path, write, true, Links::kFollow);
}

void write_file_atomic(const std::filesystem::path& path, std::string_view contents) {
  write_atomic(path, write_string(contents), true, Links::kFollow);
}

void write_cache_file_atomic(const std::filesystem::path& path, std::string_view contents) {
  write_atomic(path, write_string(contents), false, Links::kReplace);
}

bool is_atomic_temp_name(std::string_view file_name) { return temp_file_writer(file_name) != 0; }

size_t remove_stale_temp_files(const std::filesystem::path& dir) {
  size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    pid_t writer = temp_file_writer(entry.path().filename().string());
    if (writer == 0 || writer == ::getpid() || process_running(writer)) continue;
    if (entry.is_regular_file(ec) && std::filesystem::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

}  // namespace poet
