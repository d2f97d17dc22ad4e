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

// An input for load_op: a Const holding `value`, or a Placeholder of this (partial) shape.
TensorInfo constant_input(Tensor value);
TensorInfo fed_input(DType dtype, PartialShape shape);

// Prepares a graph of one op (node "op") whose inputs are Consts or fed Placeholders, to
// look at what the executor infers at load (fetch_info), its steps and flops, or to run it
// with feeds for the Placeholders in order.
Executable load_op(const std::string& op, const std::vector<TensorInfo>& inputs,
                   const std::map<std::string, AttrValue>& attrs = {}, int num_outputs = 1,
                   Backend backend = Backend::kReference);
// The same with any executor options (the one above: `backend` on one thread).
Executable load_op(const std::string& op, const std::vector<TensorInfo>& inputs,
                   const std::map<std::string, AttrValue>& attrs, int num_outputs,
                   const ExecOptions& options);

// What `op` infers at load for output 0 (load_op's fetch_info(0)).
TensorInfo infer_op(const std::string& op, const std::vector<TensorInfo>& inputs,
                    const std::map<std::string, AttrValue>& attrs = {});

std::vector<float> floats(const Tensor& t);
Tensor floats(Shape shape, std::vector<float> values);
Tensor ints(Shape shape, std::vector<int32_t> values);
Tensor int64s(Shape shape, std::vector<int64_t> values);

}  // namespace poet::testing
