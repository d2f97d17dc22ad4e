#include "engine/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
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

std::string read_file(const std::filesystem::path& path, size_t max_bytes) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path.string(), ": is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path.string(), ": cannot open (", errno_text(), ")");
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

void write_atomic(const std::filesystem::path& path,
                  const std::function<void(std::ostream&)>& write, bool sync) {
  std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::random_device rd;
  std::filesystem::path tmp =
      dir / str_cat(".", path.filename().string(), ".tmp", std::hex, rd(), rd());
  try {
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out)
        fail(path.string(), ": cannot create a file in ", dir.string(), " (", errno_text(), ")");
      write(out);
      out.flush();
      if (!out) fail(path.string(), ": write error (disk full?)");
    }
    if (sync) fsync_path(tmp);
    std::filesystem::rename(tmp, path, ec);
    if (ec)
      fail(path.string(), ": cannot rename the finished file into place (", ec.message(), ")");
  } catch (...) {
    std::filesystem::remove(tmp, ec);
    throw;
  }
}

}  // namespace

void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& write) {
  write_atomic(path, write, true);
}

void write_file_atomic(const std::filesystem::path& path, std::string_view contents) {
  write_atomic(path, write_string(contents), true);
}

void write_cache_file_atomic(const std::filesystem::path& path, std::string_view contents) {
  write_atomic(path, write_string(contents), false);
}

}  // namespace poet
