#include "tests/op_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "tests/expect_error.h"

namespace poet::testing {
namespace {

Graph one_op_graph(const std::string& op, const std::vector<Tensor>& inputs,
                   const std::map<std::string, AttrValue>& attrs, bool as_constants) {
  Graph g;
  Node node;
  node.name = "op";
  node.op = op;
  node.attrs = attrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Node in;
    in.name = "in" + std::to_string(i);
    if (as_constants) {
      in.op = "Const";
      in.attrs["value"] = inputs[i];
      in.attrs["dtype"] = inputs[i].dtype();
    } else {
      in.op = "Placeholder";
      in.attrs["dtype"] = inputs[i].dtype();
      in.attrs["shape"] = PartialShape(inputs[i].shape());
    }
    node.inputs.push_back({g.add(std::move(in)), 0});
  }
  g.add(std::move(node));
  return g;
}

bool same_tensor(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  if (a.dtype() == DType::kString)
    return std::equal(a.strings().begin(), a.strings().end(), b.strings().begin());
  return std::memcmp(a.bytes().data(), b.bytes().data(), a.byte_size()) == 0;
}

}  // namespace

std::vector<Tensor> run_op(const std::string& op, const std::vector<Tensor>& inputs,
                           const std::map<std::string, AttrValue>& attrs, int num_outputs,
                           Backend backend) {
  ExecOptions options;
  options.backend = backend;
  options.threads = 1;
  std::vector<std::string> fetches, feeds;
  for (int i = 0; i < num_outputs; ++i) fetches.push_back("op:" + std::to_string(i));
  for (size_t i = 0; i < inputs.size(); ++i) feeds.push_back("in" + std::to_string(i) + ":0");

  Executable folded(one_op_graph(op, inputs, attrs, true), {}, fetches, options);
  std::vector<Tensor> at_load = folded.run({});
  Executable fed(one_op_graph(op, inputs, attrs, false), feeds, fetches, options);
  std::vector<Tensor> at_run = fed.run(inputs);
  for (int i = 0; i < num_outputs; ++i) {
    EXPECT_TRUE(same_tensor(at_load[i], at_run[i]))
        << op << " output " << i << ": folded and run-time results differ";
  }
  return at_run;
}

Tensor run_op1(const std::string& op, const std::vector<Tensor>& inputs,
               const std::map<std::string, AttrValue>& attrs, Backend backend) {
  return run_op(op, inputs, attrs, 1, backend)[0];
}

std::string run_op_error(const std::string& op, const std::vector<Tensor>& inputs,
                         const std::map<std::string, AttrValue>& attrs) {
  SCOPED_TRACE(op);  // names the op when it does not throw
  return error_of([&] { run_op(op, inputs, attrs); });
}

TensorInfo constant_input(Tensor value) {
  return TensorInfo{value.dtype(), PartialShape(value.shape()), value};
}

TensorInfo fed_input(DType dtype, PartialShape shape) {
  return TensorInfo{dtype, std::move(shape), std::nullopt};
}

Executable load_op(const std::string& op, const std::vector<TensorInfo>& inputs,
                   const std::map<std::string, AttrValue>& attrs, int num_outputs,
                   Backend backend) {
  ExecOptions options;
  options.threads = 1;
  options.backend = backend;
  return load_op(op, inputs, attrs, num_outputs, options);
}

Executable load_op(const std::string& op, const std::vector<TensorInfo>& inputs,
                   const std::map<std::string, AttrValue>& attrs, int num_outputs,
                   const ExecOptions& options) {
  Graph g;
  Node node;
  node.name = "op";
  node.op = op;
  node.attrs = attrs;
  std::vector<std::string> feeds, fetches;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Node in;
    in.name = "in" + std::to_string(i);
    in.attrs["dtype"] = inputs[i].dtype;
    if (inputs[i].value) {
      in.op = "Const";
      in.attrs["value"] = *inputs[i].value;
    } else {
      in.op = "Placeholder";
      in.attrs["shape"] = inputs[i].shape;
      feeds.push_back(in.name + ":0");
    }
    node.inputs.push_back({g.add(std::move(in)), 0});
  }
  g.add(std::move(node));
  for (int i = 0; i < num_outputs; ++i) fetches.push_back("op:" + std::to_string(i));
  return Executable(g, feeds, fetches, options);
}

TensorInfo infer_op(const std::string& op, const std::vector<TensorInfo>& inputs,
                    const std::map<std::string, AttrValue>& attrs) {
  return load_op(op, inputs, attrs).fetch_info(0);
}

std::vector<float> floats(const Tensor& t) {
  auto d = t.data<float>();
  return {d.begin(), d.end()};
}

Tensor floats(Shape shape, std::vector<float> values) {
  return Tensor::from_floats(std::move(shape), values);
}

Tensor ints(Shape shape, std::vector<int32_t> values) {
  return Tensor::from_ints(std::move(shape), values);
}

Tensor int64s(Shape shape, std::vector<int64_t> values) {
  Tensor t(DType::kInt64, std::move(shape));
  if (values.size() != static_cast<size_t>(t.num_elements()))
    fail("int64s: ", values.size(), " values for shape ", shape_string(t.shape()));
  std::copy(values.begin(), values.end(), t.data<int64_t>().begin());
  return t;
}

}  // namespace poet::testing
