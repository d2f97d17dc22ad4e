#include "trainer/summary/tfrecord.h"

#include <nmmintrin.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "engine/error.h"
#include "engine/file_io.h"

namespace poet::summary {
namespace {

constexpr uint32_t kCastagnoliReflected = 0x82F63B78;
constexpr uint32_t kMaskDelta = 0xa282ead8;
constexpr size_t kHeaderBytes = 12;  // length + its CRC
constexpr size_t kFooterBytes = 4;   // data CRC

// table[b] = CRC of the single byte b, processed least significant bit first.
constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t crc = b;
    for (int bit = 0; bit < 8; ++bit)
      crc = (crc & 1) ? (crc >> 1) ^ kCastagnoliReflected : crc >> 1;
    table[b] = crc;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

void put_u32(char* dst, uint32_t v) {
  for (int i = 0; i < 4; ++i) dst[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
void put_u64(char* dst, uint64_t v) {
  for (int i = 0; i < 8; ++i) dst[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t get_u32(const char* src) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(src[i])} << (8 * i);
  return v;
}
uint64_t get_u64(const char* src) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(src[i])} << (8 * i);
  return v;
}

uint32_t masked_crc(std::string_view data) { return mask_crc(crc32c(data)); }

// SSE4.2's crc32 instruction is this CRC. A retrain checksums every event it writes, one or two
// a step (11 KB each for MobileNet v1 with its four histograms): through the table that took
// 100 ms of 4,000 steps, 5% of a cached retrain; by 8 bytes an instruction, 5 ms.
[[gnu::target("sse4.2")]] uint32_t crc32c_sse42(std::string_view data, uint32_t crc) {
  uint64_t wide = ~crc;
  const char* p = data.data();
  size_t n = data.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t bytes;
    std::memcpy(&bytes, p, 8);  // little-endian: the first byte is the lowest, as the table's
    wide = _mm_crc32_u64(wide, bytes);
  }
  crc = static_cast<uint32_t>(wide);
  for (; n > 0; ++p, --n) crc = _mm_crc32_u8(crc, static_cast<uint8_t>(*p));
  return ~crc;
}

}  // namespace

uint32_t crc32c(std::string_view data, uint32_t crc) {
  static const bool sse42 = __builtin_cpu_supports("sse4.2");
  return sse42 ? crc32c_sse42(data, crc) : crc32c_table(data, crc);
}

uint32_t crc32c_table(std::string_view data, uint32_t crc) {
  crc = ~crc;
  for (char c : data) crc = kCrcTable[(crc ^ static_cast<uint8_t>(c)) & 0xff] ^ (crc >> 8);
  return ~crc;
}

uint32_t mask_crc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }

uint32_t unmask_crc(uint32_t masked) {
  uint32_t rotated = masked - kMaskDelta;
  return (rotated >> 17) | (rotated << 15);
}

std::string frame_record(std::string_view data) {
  std::string out(kHeaderBytes + data.size() + kFooterBytes, '\0');
  put_u64(out.data(), data.size());
  put_u32(out.data() + 8, masked_crc(std::string_view(out.data(), 8)));
  std::memcpy(out.data() + kHeaderBytes, data.data(), data.size());
  put_u32(out.data() + kHeaderBytes + data.size(), masked_crc(data));
  return out;
}

TFRecordWriter::TFRecordWriter(const std::filesystem::path& path)
    : path_(path), out_(path, std::ios::binary | std::ios::app) {
  if (!out_) fail_to_open(path);
}

void TFRecordWriter::write(std::string_view data) {
  if (!out_) fail(path_.string(), ": an earlier write to it failed");
  std::string framed = frame_record(data);
  std::error_code ec;
  const uintmax_t whole = std::filesystem::file_size(path_, ec);
  errno = 0;
  out_.write(framed.data(), static_cast<std::streamsize>(framed.size()));
  out_.flush();
  if (out_) return;
  const int reason = errno;
  // The file ends at its last whole record again, as TensorBoard and read_event_file expect;
  // closed first, since a close would try the buffered rest of the record again.
  out_.close();
  if (!ec) std::filesystem::resize_file(path_, whole, ec);
  errno = reason;
  fail_to_write(path_);
}

TFRecordReader::TFRecordReader(const std::filesystem::path& path, uint64_t max_record_bytes)
    : name_(path.string()), max_record_bytes_(max_record_bytes) {
  check_regular_file(path);
  in_ = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*in_) fail_to_open(path);
  std::error_code ec;
  file_size_ = std::filesystem::file_size(path, ec);
  if (ec) fail(path.string(), ": cannot determine the file size (", ec.message(), ")");
}

TFRecordReader::TFRecordReader(std::string bytes, std::string what, uint64_t max_record_bytes)
    : name_(std::move(what)), file_size_(bytes.size()), max_record_bytes_(max_record_bytes) {
  in_ = std::make_unique<std::istringstream>(std::move(bytes), std::ios::binary);
}

void TFRecordReader::read_exact(char* dst, uint64_t n, uint64_t record_offset, const char* what) {
  if (!in_->read(dst, static_cast<std::streamsize>(n)))
    fail(name_, ": record at offset ", record_offset, ": read error in its ", what);
  offset_ += n;
}

template <typename... Args>
bool TFRecordReader::truncated(uint64_t record_offset, Args&&... message) {
  if (!stop_at_truncated_tail_) fail(std::forward<Args>(message)...);
  truncated_at_ = record_offset;
  return false;
}

bool TFRecordReader::next(std::string& data) {
  const uint64_t start = offset_;
  if (start >= file_size_ || truncated_at_) return false;
  const uint64_t remaining = file_size_ - start;
  if (remaining < kHeaderBytes)
    return truncated(start, name_, ": record at offset ", start, " is truncated: ", remaining,
                     " bytes left, a record header needs ", kHeaderBytes);

  char header[kHeaderBytes];
  read_exact(header, kHeaderBytes, start, "header");
  if (masked_crc(std::string_view(header, 8)) != get_u32(header + 8))
    fail(name_, ": record at offset ", start,
         ": length CRC mismatch (corrupt file, or not a TFRecord/event file)");
  const uint64_t length = get_u64(header);
  // Checked before allocating: a corrupt length must not turn into a huge allocation.
  if (length > max_record_bytes_)
    fail(name_, ": record at offset ", start, " claims ", length, " bytes, more than the limit of ",
         max_record_bytes_);
  if (length + kFooterBytes > remaining - kHeaderBytes)
    return truncated(start, name_, ": record at offset ", start, " is truncated: it needs ",
                     kHeaderBytes + length + kFooterBytes, " bytes, the file has ", remaining,
                     " left");

  data.resize(length);
  read_exact(data.data(), length, start, "data");
  char footer[kFooterBytes];
  read_exact(footer, kFooterBytes, start, "data CRC");
  if (masked_crc(data) != get_u32(footer))
    fail(name_, ": record at offset ", start, ": data CRC mismatch (corrupt data)");
  return true;
}

}  // namespace poet::summary
