#include "engine/op.h"

namespace poet {

int64_t known_bytes(const TensorInfo& t) {
  if (!t.shape.fully_known()) return -1;
  int64_t n = static_cast<int64_t>(dtype_size(t.dtype));
  for (int64_t d : t.shape.dims)
    if (__builtin_mul_overflow(n, d, &n)) return -1;
  return n;
}

bool over_tensor_limit(const TensorInfo& t) {
  if (!t.shape.fully_known()) return false;
  const int64_t bytes = known_bytes(t);
  return bytes < 0 || static_cast<uint64_t>(bytes) > max_tensor_bytes();
}

void check_output_index(std::string_view what, std::string_view name, const Node& node, int index,
                        int outputs) {
  if (index >= outputs)
    fail(what, " '", name, "': ", node.describe(), " has ", outputs,
         outputs == 1 ? " output" : " outputs");
}

std::string_view backend_name(Backend backend) {
  switch (backend) {
    case Backend::kNative:
      return "native";
    case Backend::kOneDnn:
      return "onednn";
    case Backend::kReference:
      return "ref";
  }
  return "?";
}

std::optional<Backend> parse_backend(std::string_view name) {
  for (Backend b : {Backend::kNative, Backend::kOneDnn, Backend::kReference})
    if (backend_name(b) == name) return b;
  return std::nullopt;
}

Backend OpOptions::backend_for(std::string_view op) const {
  constexpr std::string_view kFused = "_Fused";
  if (op.starts_with(kFused)) op.remove_prefix(kFused.size());
  auto it = op_backends.find(std::string(op));
  return it != op_backends.end() ? it->second : backend;
}

bool OpOptions::uses(Backend b) const {
  if (backend == b) return true;
  for (const auto& [op, chosen] : op_backends)
    if (chosen == b) return true;
  return false;
}

void InferContext::set_output(int i, DType dtype, PartialShape shape) {
  outputs_[i].dtype = dtype;
  outputs_[i].shape = std::move(shape);
}

void InferContext::set_output_value(int i, Tensor value) {
  outputs_[i].dtype = value.dtype();
  outputs_[i].shape = PartialShape(value.shape());
  outputs_[i].value = std::move(value);
}

void InferContext::expect_inputs(int lo, int hi) const {
  if (num_inputs() < lo || num_inputs() > hi) {
    if (lo == hi) fail("expects ", lo, " inputs, has ", num_inputs());
    fail("expects ", lo, " to ", hi, " inputs, has ", num_inputs());
  }
}

void InferContext::expect_dtype(int i, DType dtype) const {
  if (input(i).dtype != dtype)
    fail("input ", i, " is ", dtype_name(input(i).dtype), ", expected ", dtype_name(dtype));
}

void InferContext::expect_rank(int i, int rank) const {
  const PartialShape& s = input_shape(i);
  if (s.known_rank && s.rank() != rank)
    fail("input ", i, " has shape ", s.str(), ", expected rank ", rank);
}

Tensor& ComputeContext::output(int i) {
  if (!outputs_[i].valid()) outputs_[i] = Tensor(infos_[i].dtype, infos_[i].shape.known());
  return outputs_[i];
}

void ComputeContext::set_output(int i, Tensor value) { outputs_[i] = std::move(value); }

std::span<float> ComputeContext::output_floats(int64_t extent) {
  Tensor& t = output(0);
  float* first = t.data<float>().data();
  if (output_stride_ == 0 && extent != t.num_elements())
    fail("output of ", t.num_elements(), " floats asked for as ", extent);
  return {first, static_cast<size_t>(extent)};
}

}  // namespace poet
