// A Tensor is a typed, shaped view of a shared, 64-byte aligned buffer. Copies share the
// buffer (like TensorFlow's tensors), so Identity and Reshape cost nothing; use clone() for a
// deep copy. String tensors keep their elements in a separate vector.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/dtype.h"
#include "engine/error.h"

namespace poet {

using Shape = std::vector<int64_t>;

// Product of the dimensions, with overflow and negative-dimension checks (throws Error).
int64_t num_elements(std::span<const int64_t> shape);
std::string shape_string(std::span<const int64_t> shape);  // "[1,224,224,3]"

// The largest tensor poet allocates; protects against files that claim absurd sizes.
// Settable with POET_MAX_TENSOR_BYTES or set_max_tensor_bytes().
size_t max_tensor_bytes();
void set_max_tensor_bytes(size_t bytes);

class Tensor {
 public:
  Tensor() = default;
  // Allocates zero-initialised storage for shape (strings start empty).
  Tensor(DType dtype, Shape shape);
  // A view of `bytes` owned by `owner` (an arena, a mapped file): no allocation.
  Tensor(DType dtype, Shape shape, std::shared_ptr<std::byte> data);

  static Tensor scalar_float(float value);
  static Tensor from_floats(Shape shape, std::span<const float> values);
  static Tensor from_ints(Shape shape, std::span<const int32_t> values);
  static Tensor from_string(std::string value);

  bool valid() const { return dtype_ != DType::kInvalid; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_.at(i < 0 ? i + rank() : i); }
  int64_t num_elements() const { return num_elements_; }
  size_t byte_size() const { return static_cast<size_t>(num_elements_) * dtype_size(dtype_); }

  // The dtype and shape of a numeric constant whose data an op has adopted into a form of its
  // own (Op::adopt_constant): reading its data fails.
  static Tensor released(DType dtype, Shape shape);
  bool released() const { return !data_ && num_elements_ > 0 && dtype_ != DType::kString; }

  template <class T>
  std::span<T> data() {
    check_access(dtype_holds<T>(dtype_));
    return {reinterpret_cast<T*>(data_.get()), static_cast<size_t>(num_elements_)};
  }
  template <class T>
  std::span<const T> data() const {
    check_access(dtype_holds<T>(dtype_));
    return {reinterpret_cast<const T*>(data_.get()), static_cast<size_t>(num_elements_)};
  }
  std::span<std::byte> bytes() { return {data_.get(), byte_size()}; }
  std::span<const std::byte> bytes() const { return {data_.get(), byte_size()}; }
  std::span<std::string> strings();
  std::span<const std::string> strings() const;

  // Same elements, new shape (must have the same element count); shares storage.
  Tensor reshaped(Shape shape) const;
  Tensor clone() const;

 private:
  void check_access(bool ok) const {
    if (!ok || released()) fail_access();
  }
  [[noreturn]] void fail_access() const;

  DType dtype_ = DType::kInvalid;
  Shape shape_;
  int64_t num_elements_ = 0;
  std::shared_ptr<std::byte> data_;
  std::shared_ptr<std::vector<std::string>> strings_;
};

// Rows [begin, end) of t along dimension 0: a view of t's buffer when the rows start on the
// 64-byte alignment kernels may assume, a copy otherwise. Not for string tensors.
Tensor batch_rows(const Tensor& t, int64_t begin, int64_t end);

// Tensors of the same dtype and shape but dimension 0 ([rows, ...] each) stacked along
// dimension 0, in order: the images of a batch run one at a time, joined back. `name` names the
// tensor in the error for parts that differ.
Tensor join_rows(std::span<const Tensor> parts, const std::string& name);

// Allocates `bytes` with 64-byte alignment (the widest vector poet loads), every byte `fill`.
std::shared_ptr<std::byte> allocate_aligned(size_t bytes, std::byte fill = std::byte{0});

}  // namespace poet
