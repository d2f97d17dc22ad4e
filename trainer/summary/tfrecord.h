// TFRecord framing, the container of TensorBoard event files. Each record is
//   uint64 length (little-endian) | uint32 masked CRC-32C of those 8 bytes |
//   data[length] | uint32 masked CRC-32C of data
// with mask(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8, so that a CRC computed over bytes
// that themselves contain CRCs does not degenerate.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace poet::summary {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), continuing from a previous crc
// so that data can be fed in pieces. crc32c("123456789") == 0xE3069283. By SSE4.2's crc32
// instruction, 8 bytes at a time, where the CPU has it (CPUID), else crc32c_table.
uint32_t crc32c(std::string_view data, uint32_t crc = 0);
// The same a byte at a time through a 256-entry table: the reference, and the fallback.
uint32_t crc32c_table(std::string_view data, uint32_t crc = 0);
uint32_t mask_crc(uint32_t crc);
uint32_t unmask_crc(uint32_t masked);

// The bytes of one framed record: header, data and footer.
std::string frame_record(std::string_view data);

// Appends records to a file. Each write is flushed to the operating system before it returns,
// so a reader (TensorBoard) sees complete records while training is still running.
class TFRecordWriter {
 public:
  // Creates the file, or appends when it exists.
  explicit TFRecordWriter(const std::filesystem::path& path);
  // Appends one record. A write the system stops (a full disk, `ulimit -f`) is an Error naming
  // the reason, and cuts the file back to its last whole record; the writer then refuses more.
  void write(std::string_view data);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

// Reads records one at a time, verifying both CRCs. Corruption and truncation throw a
// poet::Error naming the file and the byte offset of the record at fault.
class TFRecordReader {
 public:
  static constexpr uint64_t kDefaultMaxRecordBytes = uint64_t{1} << 30;

  explicit TFRecordReader(const std::filesystem::path& path,
                          uint64_t max_record_bytes = kDefaultMaxRecordBytes);
  // Reads records from bytes in memory; `what` names them in errors.
  TFRecordReader(std::string bytes, std::string what,
                 uint64_t max_record_bytes = kDefaultMaxRecordBytes);
  // Reads the next record into data; false at the end of the file.
  bool next(std::string& data);
  // Offset of the next record to be read.
  uint64_t offset() const { return offset_; }

  // From now on a record cut short by the end of the file (what a writer killed mid-append
  // leaves, and what TensorBoard treats as not yet written) ends the read as the end of the
  // file would, instead of throwing; truncated_at() then tells its offset. Corrupt records
  // (CRC mismatches, lengths over the limit) still throw.
  void stop_at_truncated_tail() { stop_at_truncated_tail_ = true; }
  std::optional<uint64_t> truncated_at() const { return truncated_at_; }

 private:
  void read_exact(char* dst, uint64_t n, uint64_t record_offset, const char* what);
  // Throws the message, or records the offset when stopping at a truncated tail.
  template <typename... Args>
  bool truncated(uint64_t record_offset, Args&&... message);

  std::string name_;  // the file, in errors
  std::unique_ptr<std::istream> in_;
  uint64_t file_size_ = 0;
  uint64_t offset_ = 0;
  uint64_t max_record_bytes_;
  bool stop_at_truncated_tail_ = false;
  std::optional<uint64_t> truncated_at_;
};

}  // namespace poet::summary
