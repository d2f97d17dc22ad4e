#include "engine/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace poet {
namespace {

size_t initial_max_tensor_bytes() {
  if (const char* env = std::getenv("POET_MAX_TENSOR_BYTES")) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(env, &end, 10);
    if (end != env && *end == '\0' && v > 0) return static_cast<size_t>(v);
  }
  return size_t{4} << 30;  // 4 GiB: larger than any image graph's biggest tensor
}

size_t g_max_tensor_bytes = initial_max_tensor_bytes();

}  // namespace

std::string_view dtype_name(DType type) {
  switch (type) {
    case DType::kInvalid:
      return "invalid";
    case DType::kFloat32:
      return "float32";
    case DType::kFloat16:
      return "float16";
    case DType::kInt32:
      return "int32";
    case DType::kInt64:
      return "int64";
    case DType::kUInt8:
      return "uint8";
    case DType::kQUInt8:
      return "quint8";
    case DType::kString:
      return "string";
    case DType::kBool:
      return "bool";
  }
  return "invalid";
}

size_t dtype_size(DType type) {
  switch (type) {
    case DType::kFloat32:
    case DType::kInt32:
      return 4;
    case DType::kInt64:
      return 8;
    case DType::kFloat16:
      return 2;
    case DType::kUInt8:
    case DType::kQUInt8:
    case DType::kBool:
      return 1;
    case DType::kString:
    case DType::kInvalid:
      return 0;
  }
  return 0;
}

int64_t num_elements(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) fail("shape ", shape_string(shape), " has an unknown or negative dimension");
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      fail("shape ", shape_string(shape), " has too many elements");
    n *= d;
  }
  return n;
}

std::string shape_string(std::span<const int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += shape[i] < 0 ? "?" : std::to_string(shape[i]);
  }
  return s + "]";
}

size_t max_tensor_bytes() { return g_max_tensor_bytes; }
void set_max_tensor_bytes(size_t bytes) { g_max_tensor_bytes = bytes; }

std::shared_ptr<std::byte> allocate_aligned(size_t bytes, std::byte fill) {
  constexpr size_t kAlign = 64;
  size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  if (rounded == 0) rounded = kAlign;
  void* p = std::aligned_alloc(kAlign, rounded);
  if (!p) fail("out of memory allocating ", bytes, " bytes");
  std::memset(p, std::to_integer<int>(fill), rounded);
  return std::shared_ptr<std::byte>(static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); });
}

Tensor::Tensor(DType dtype, Shape shape)
    : dtype_(dtype), shape_(std::move(shape)), num_elements_(poet::num_elements(shape_)) {
  if (dtype_ == DType::kInvalid) fail("cannot allocate a tensor of invalid dtype");
  if (dtype_ == DType::kString) {
    if (static_cast<uint64_t>(num_elements_) > max_tensor_bytes() / sizeof(std::string))
      fail("string tensor ", shape_string(shape_), " exceeds the memory limit");
    strings_ = std::make_shared<std::vector<std::string>>(num_elements_);
    return;
  }
  if (static_cast<uint64_t>(num_elements_) > max_tensor_bytes() / dtype_size(dtype_))
    fail("tensor ", shape_string(shape_), " of ", dtype_name(dtype_), " needs more than the ",
         max_tensor_bytes(), "-byte limit (POET_MAX_TENSOR_BYTES)");
  data_ = allocate_aligned(byte_size());
}

Tensor::Tensor(DType dtype, Shape shape, std::shared_ptr<std::byte> data)
    : dtype_(dtype),
      shape_(std::move(shape)),
      num_elements_(poet::num_elements(shape_)),
      data_(std::move(data)) {
  if (dtype_ == DType::kString || dtype_ == DType::kInvalid)
    fail("a ", dtype_name(dtype_), " tensor cannot view a byte buffer");
}

Tensor Tensor::scalar_float(float value) { return from_floats({}, {&value, 1}); }

Tensor Tensor::from_floats(Shape shape, std::span<const float> values) {
  Tensor t(DType::kFloat32, std::move(shape));
  if (values.size() != static_cast<size_t>(t.num_elements()))
    fail("from_floats: ", values.size(), " values for shape ", shape_string(t.shape()));
  std::copy(values.begin(), values.end(), t.data<float>().begin());
  return t;
}

Tensor Tensor::from_ints(Shape shape, std::span<const int32_t> values) {
  Tensor t(DType::kInt32, std::move(shape));
  if (values.size() != static_cast<size_t>(t.num_elements()))
    fail("from_ints: ", values.size(), " values for shape ", shape_string(t.shape()));
  std::copy(values.begin(), values.end(), t.data<int32_t>().begin());
  return t;
}

Tensor Tensor::from_string(std::string value) {
  Tensor t(DType::kString, {});
  t.strings()[0] = std::move(value);
  return t;
}

std::span<std::string> Tensor::strings() {
  check_access(dtype_ == DType::kString);
  return *strings_;
}

std::span<const std::string> Tensor::strings() const {
  check_access(dtype_ == DType::kString);
  return *strings_;
}

Tensor Tensor::reshaped(Shape shape) const {
  if (poet::num_elements(shape) != num_elements_)
    fail("cannot reshape ", shape_string(shape_), " to ", shape_string(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (dtype_ == DType::kString) {
    *t.strings_ = *strings_;
  } else if (byte_size()) {
    std::memcpy(t.data_.get(), data_.get(), byte_size());
  }
  return t;
}

Tensor Tensor::released(DType dtype, Shape shape) { return Tensor(dtype, std::move(shape), {}); }

void Tensor::fail_access() const {
  if (released())
    fail("tensor ", shape_string(shape_), " was released after an op adopted it (a bug: ",
         "Op::adopt_constant promised not to read it)");
  fail("tensor of dtype ", dtype_name(dtype_), " accessed as another type");
}

Tensor batch_rows(const Tensor& t, int64_t begin, int64_t end) {
  Shape shape = t.shape();
  shape[0] = end - begin;
  const size_t row_bytes = t.byte_size() / static_cast<size_t>(t.dim(0));
  const size_t offset = static_cast<size_t>(begin) * row_bytes;
  const auto start = reinterpret_cast<uintptr_t>(t.bytes().data()) + offset;
  if (start % 64 == 0 && row_bytes > 0) {
    auto owner = std::make_shared<Tensor>(t);  // shares, and keeps alive, t's buffer
    return Tensor(t.dtype(), std::move(shape),
                  std::shared_ptr<std::byte>(owner, owner->bytes().data() + offset));
  }
  Tensor rows(t.dtype(), std::move(shape));
  if (rows.byte_size() > 0)
    std::memcpy(rows.bytes().data(), t.bytes().data() + offset, rows.byte_size());
  return rows;
}

Tensor join_rows(std::span<const Tensor> parts, const std::string& name) {
  Shape shape = parts[0].shape();
  shape[0] = 0;
  for (const Tensor& p : parts) {
    if (p.dtype() != parts[0].dtype() || p.rank() != parts[0].rank() ||
        !std::equal(p.shape().begin() + 1, p.shape().end(), parts[0].shape().begin() + 1))
      fail("tensor '", name, "': the batch's images gave shapes ", shape_string(parts[0].shape()),
           " and ", shape_string(p.shape()));
    shape[0] += p.dim(0);
  }
  Tensor out(parts[0].dtype(), std::move(shape));
  size_t at = 0;
  for (const Tensor& p : parts) {
    if (p.byte_size() == 0) continue;
    std::memcpy(out.bytes().data() + at, p.bytes().data(), p.byte_size());
    at += p.byte_size();
  }
  return out;
}

}  // namespace poet
