#include "engine/npy.h"

#include <charconv>
#include <cstring>
#include <limits>
#include <map>

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

// The header's dictionary as NumPy writes it, {'descr': '<f4', 'fortran_order': False,
// 'shape': (2, 3), }: each key (quoted with ' or ", as Python's literal_eval reads either) and
// the text of its value (a quoted string with its quotes, a parenthesised or bracketed group,
// or a word). A key given twice is an error: literal_eval would keep the last one silently.
std::map<std::string_view, std::string_view> header_dict(std::string_view header,
                                                         std::string_view what) {
  size_t at = 0;
  auto skip_space = [&] {
    while (at < header.size() &&
           (header[at] == ' ' || header[at] == '\t' || header[at] == '\n' || header[at] == '\r'))
      ++at;
  };
  auto malformed = [&](std::string_view why) {
    fail(what, ": the .npy header is not a dictionary {'descr': ..., 'fortran_order': ..., ",
         "'shape': ...}: ", why, " at byte ", at, " of its ", header.size());
  };
  // A quoted string from `at`, quotes included.
  auto quoted = [&]() -> std::string_view {
    const char quote = header[at];
    const size_t end = header.find(quote, at + 1);
    if (end == std::string_view::npos) malformed("an unclosed string");
    std::string_view text = header.substr(at, end + 1 - at);
    at = end + 1;
    return text;
  };
  std::map<std::string_view, std::string_view> dict;
  skip_space();
  if (at == header.size() || header[at] != '{') malformed("no '{'");
  ++at;
  for (;;) {
    skip_space();
    if (at == header.size()) malformed("no closing '}'");
    if (header[at] == '}') break;
    if (header[at] != '\'' && header[at] != '"') malformed("a key that is not a quoted string");
    std::string_view key = quoted();
    key = key.substr(1, key.size() - 2);
    skip_space();
    if (at == header.size() || header[at] != ':') malformed("no ':' after a key");
    ++at;
    skip_space();
    const size_t start = at;
    if (at == header.size()) malformed("no value after a key");
    if (header[at] == '\'' || header[at] == '"') {
      quoted();
    } else if (header[at] == '(' || header[at] == '[') {
      // A group (a shape, a structured dtype's list) up to its closing bracket; strings in it
      // are skipped whole.
      int depth = 0;
      do {
        if (at == header.size()) malformed("an unclosed bracket");
        const char c = header[at];
        if (c == '\'' || c == '"') {
          quoted();
          continue;
        }
        depth += (c == '(' || c == '[') - (c == ')' || c == ']');
        ++at;
      } while (depth > 0);
    } else {
      while (at < header.size() &&
             std::string_view(",} \t\r\n").find(header[at]) == std::string_view::npos)
        ++at;
    }
    if (!dict.emplace(key, header.substr(start, at - start)).second)
      fail(what, ": the .npy header gives '", key, "' twice");
    skip_space();
    if (at < header.size() && header[at] == ',') {
      ++at;
    } else if (at == header.size() || header[at] != '}') {
      malformed("no ',' or '}' after a value");
    }
  }
  ++at;
  skip_space();
  if (at != header.size()) malformed("text after the closing '}'");
  return dict;
}

// A value of the header's dictionary, or empty.
std::string_view dict_value(const std::map<std::string_view, std::string_view>& dict,
                            std::string_view key) {
  const auto it = dict.find(key);
  return it == dict.end() ? std::string_view{} : it->second;
}

// A Python tuple of dimensions: (), (3,), (2, 3) or (2, 3,). "(3)" is the integer 3, not a
// tuple: NumPy refuses it.
Shape parse_shape(std::string_view text, std::string_view what) {
  auto bad = [&] { fail(what, ": bad shape '", text, "' in the .npy header"); };
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') bad();
  Shape shape;
  std::string_view body = text.substr(1, text.size() - 2);
  bool trailing_comma = false;
  for (;;) {
    const size_t start = body.find_first_not_of(" \t\r\n");
    if (start == std::string_view::npos) break;  // () or a comma's end
    body = body.substr(start);
    int64_t d = 0;
    auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), d);
    if (ec != std::errc() || d < 0) bad();
    shape.push_back(d);
    if (shape.size() > 32) fail(what, ": .npy array has more than 32 dimensions");
    body = body.substr(end - body.data());
    const size_t next = body.find_first_not_of(" \t\r\n");
    if (next == std::string_view::npos) {
      trailing_comma = false;
      break;
    }
    if (body[next] != ',') bad();
    body = body.substr(next + 1);
    trailing_comma = true;
  }
  if (shape.size() == 1 && !trailing_comma)
    fail(what, ": bad shape '", text, "' in the .npy header: a tuple of one dimension is written (",
         shape[0], ",)");
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

  const std::map<std::string_view, std::string_view> dict = header_dict(header, what);
  std::string_view descr = dict_value(dict, "descr");
  if (descr.size() >= 2 && (descr[0] == '\'' || descr[0] == '"'))
    descr = descr.substr(1, descr.size() - 2);  // strip quotes
  const Descr* found = nullptr;
  for (const Descr& d : kDescrs) {
    if (d.text == descr ||
        (d.text[0] == '|' && !descr.empty() && descr.substr(1) == d.text.substr(1)))
      found = &d;
  }
  if (!found)
    fail(what, ": .npy dtype '", descr,
         "' is not supported (use little-endian float32, float16, int32, int64, uint8 or bool)");
  const std::string_view order = dict_value(dict, "fortran_order");
  if (order == "True") fail(what, ": Fortran-order .npy arrays are not supported");
  if (order != "False")
    fail(what, ": the .npy header has no 'fortran_order': False or True (not written by NumPy?)");
  Shape shape = parse_shape(dict_value(dict, "shape"), what);
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
