// Runs a single op through the executor, the way a graph would: once with its inputs as
// Consts (so the op is folded at load) and once with them fed at run time, and checks both
// paths agree before returning the outputs.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/executor.h"

namespace poet::testing {

std::vector<Tensor> run_op(const std::string& op, const std::vector<Tensor>& inputs,
                           const std::map<std::string, AttrValue>& attrs = {}, int num_outputs = 1,
                           Backend backend = Backend::kReference);

// Single-output shorthand.
Tensor run_op1(const std::string& op, const std::vector<Tensor>& inputs,
               const std::map<std::string, AttrValue>& attrs = {},
               Backend backend = Backend::kReference);

// The Error message run_op throws (fails the test when it does not throw).
std::string run_op_error(const std::string& op, const std::vector<Tensor>& inputs,
                         const std::map<std::string, AttrValue>& attrs = {});

// Loads a graph of `op` whose inputs are Placeholders of each TensorInfo's dtype and (partial)
// shape, fed in order, or Consts for those with a value. Fetches output 0.
Executable load_op(const std::string& op, const std::vector<TensorInfo>& inputs,
                   const std::map<std::string, AttrValue>& attrs = {});

// What `op` infers at load for output 0 (load_op's fetch_info(0)).
TensorInfo infer_op(const std::string& op, const std::vector<TensorInfo>& inputs,
                    const std::map<std::string, AttrValue>& attrs = {});

// A Placeholder's TensorInfo, for load_op and infer_op.
TensorInfo placeholder(DType dtype, PartialShape shape);

std::vector<float> floats(const Tensor& t);
Tensor floats(Shape shape, std::vector<float> values);
Tensor ints(Shape shape, std::vector<int32_t> values);

}  // namespace poet::testing
