#include "engine/npy.h"

#include <charconv>
#include <cstring>
#include <limits>

#include "engine/file_io.h"

namespace poet {
namespace {

constexpr std::string_view kMagic = "\x93NUMPY";

struct Descr {
  std::string_view text;
  DType dtype;
};
constexpr Descr kDescrs[] = {
    {"<f4", DType::kFloat32}, {"<f2", DType::kFloat16}, {"<i4", DType::kInt32},
    {"<i8", DType::kInt64},   {"|u1", DType::kUInt8},   {"|b1", DType::kBool},
};

// The value text after 'key': in the header dictionary, or empty.
std::string_view dict_value(std::string_view header, std::string_view key) {
  std::string quoted = str_cat("'", key, "'");
  size_t at = header.find(quoted);
  if (at == std::string_view::npos) return {};
  at = header.find(':', at + quoted.size());
  if (at == std::string_view::npos) return {};
  std::string_view rest = header.substr(at + 1);
  size_t start = rest.find_first_not_of(' ');
  if (start == std::string_view::npos) return {};
  rest = rest.substr(start);
  size_t end = rest[0] == '(' ? rest.find(')') + 1 : rest.find_first_of(",}");
  return end == std::string_view::npos || end == 0 ? std::string_view{} : rest.substr(0, end);
}

Shape parse_shape(std::string_view text, std::string_view what) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')')
    fail(what, ": bad shape '", text, "' in the .npy header");
  Shape shape;
  std::string_view body = text.substr(1, text.size() - 2);
  while (!body.empty()) {
    size_t start = body.find_first_not_of(" ,");
    if (start == std::string_view::npos) break;
    body = body.substr(start);
    int64_t d = 0;
    auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), d);
    if (ec != std::errc() || d < 0) fail(what, ": bad shape '", text, "' in the .npy header");
    shape.push_back(d);
    body = body.substr(end - body.data());
    if (shape.size() > 32) fail(what, ": .npy array has more than 32 dimensions");
  }
  return shape;
}

}  // namespace

Tensor parse_npy(std::string_view bytes, std::string_view what) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != kMagic) fail(what, ": not a .npy file");
  uint8_t major = static_cast<uint8_t>(bytes[6]);
  size_t header_len, offset;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | static_cast<uint8_t>(bytes[9]) << 8;
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail(what, ": truncated .npy header");
    header_len = 0;
    for (int i = 3; i >= 0; --i) header_len = header_len << 8 | static_cast<uint8_t>(bytes[8 + i]);
    offset = 12;
  } else {
    fail(what, ": unsupported .npy format version ", int{major});
  }
  if (header_len > bytes.size() - offset) fail(what, ": truncated .npy header");
  std::string_view header = bytes.substr(offset, header_len);
  std::string_view payload = bytes.substr(offset + header_len);

  std::string_view descr = dict_value(header, "descr");
  if (descr.size() >= 2) descr = descr.substr(1, descr.size() - 2);  // strip quotes
  const Descr* found = nullptr;
  for (const Descr& d : kDescrs) {
    if (d.text == descr ||
        (d.text[0] == '|' && !descr.empty() && descr.substr(1) == d.text.substr(1)))
      found = &d;
  }
  if (!found)
    fail(what, ": .npy dtype '", descr,
         "' is not supported (use little-endian float32, float16, int32, int64, uint8 or bool)");
  const std::string_view order = dict_value(header, "fortran_order");
  if (order == "True") fail(what, ": Fortran-order .npy arrays are not supported");
  if (order != "False")
    fail(what, ": the .npy header has no 'fortran_order': False or True (not written by NumPy?)");
  Shape shape = parse_shape(dict_value(header, "shape"), what);
  int64_t count = 0;
  try {
    count = num_elements(shape);
  } catch (const Error& e) {
    fail(what, ": .npy header: ", e.what());
  }
  const uint64_t item = dtype_size(found->dtype);
  if (static_cast<uint64_t>(count) > std::numeric_limits<uint64_t>::max() / item)
    fail(what, ": .npy shape ", shape_string(shape), " is too large");
  const uint64_t need = static_cast<uint64_t>(count) * item;
  if (payload.size() != need)
    fail(what, ": .npy data is ", payload.size(), " bytes, shape ", shape_string(shape), " of ",
         dtype_name(found->dtype), " needs ", need);
  // Bytes other than 0 and 1 are not bools; reading them would be undefined behaviour.
  if (found->dtype == DType::kBool &&
      payload.find_first_not_of(std::string_view("\0\1", 2)) != std::string_view::npos)
    fail(what, ": .npy bool array holds bytes other than 0 and 1");
  try {
    Tensor t(found->dtype, shape);
    if (need) std::memcpy(t.bytes().data(), payload.data(), need);
    return t;
  } catch (const Error& e) {
    fail(what, ": ", e.what());
  }
}

Tensor read_npy(const std::filesystem::path& path) {
  return parse_npy(read_file(path), path.string());
}

std::string serialize_npy(const Tensor& tensor) {
  const Descr* found = nullptr;
  for (const Descr& d : kDescrs) {
    if (d.dtype == (tensor.dtype() == DType::kQUInt8 ? DType::kUInt8 : tensor.dtype())) found = &d;
  }
  if (!found) fail("cannot write a ", dtype_name(tensor.dtype()), " tensor as .npy");
  // Python tuple syntax: (), (3,), (1, 128, 128, 3).
  std::string shape;
  for (int64_t d : tensor.shape()) shape += str_cat(shape.empty() ? "" : ", ", d);
  shape = str_cat("(", shape, tensor.rank() == 1 ? ",)" : ")");
  std::string header =
      str_cat("{'descr': '", found->text, "', 'fortran_order': False, 'shape': ", shape, ", }");
  // Pad with spaces so the data starts on a 64-byte boundary, ending in a newline.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out(kMagic);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(tensor.bytes().data()), tensor.byte_size());
  return out;
}

void write_npy(const std::filesystem::path& path, const Tensor& tensor) {
  write_file_atomic(path, serialize_npy(tensor));
}

}  // namespace poet
