// Builds small graphs node by node in tests: t.op("name", "Op", {inputs}, {attrs}).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/graph.h"

namespace poet::testing {

struct TestGraph {
  Graph g;

  Endpoint placeholder(const std::string& name, PartialShape shape, DType dtype = DType::kFloat32) {
    Node n;
    n.name = name;
    n.op = "Placeholder";
    n.attrs = {{"dtype", dtype}, {"shape", std::move(shape)}};
    return {g.add(std::move(n)), 0};
  }
  Endpoint constant(const std::string& name, Tensor value) {
    Node n;
    n.name = name;
    n.op = "Const";
    n.attrs = {{"dtype", value.dtype()}, {"value", std::move(value)}};
    return {g.add(std::move(n)), 0};
  }
  // An op on float32 tensors (its attribute T is set).
  Endpoint op(const std::string& name, const std::string& type, std::vector<Endpoint> inputs,
              std::map<std::string, AttrValue> attrs = {}) {
    Node n;
    n.name = name;
    n.op = type;
    n.inputs = std::move(inputs);
    n.attrs = std::move(attrs);
    n.attrs["T"] = DType::kFloat32;
    return {g.add(std::move(n)), 0};
  }
};

}  // namespace poet::testing
