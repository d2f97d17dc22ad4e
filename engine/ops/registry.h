// Op registration. Each engine/ops/<op>.cc registers the TensorFlow op types it implements,
// with what TensorFlow's definition of the op (its OpDef) says a node may carry:
//
//   POET_REGISTER_OP("Conv2D", make_conv2d,
//                    {.inputs = {"T", "T"}, .attrs = {"T", "strides", "padding", ...}});
//
// so an op type's name leads straight to its file. (poet_engine is linked whole-archive so
// these registrations are never dropped by the linker.)
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "engine/op.h"

namespace poet::ops {

using Factory = std::unique_ptr<Op> (*)(const Node&, const OpOptions&);

// What TensorFlow's OpDef declares, as far as poet checks a node against it. TensorFlow checks
// the same when it imports a graph; without it a misspelt attribute (Squeeze's `axis` for
// `squeeze_dims`) would be ignored and a wrong type (`T: DT_HALF` on float inputs) run as if
// right. An op's own constructor and infer() check the values.
struct Signature {
  // Each input's type: a type attribute's name ("T"), a dtype ("int32", "string"), or "N*T":
  // the inputs of a list, all of type T (how many is the op's own check).
  std::vector<std::string_view> inputs;
  // Every attribute the OpDef defines (of TensorFlow's latest release, so that graphs of every
  // release pass). A node's other attributes are an error; those starting with '_' are
  // TensorFlow's runtime bookkeeping and are dropped at import.
  std::vector<std::string_view> attrs;
};

// Called by POET_REGISTER_OP at static initialisation; a duplicate name aborts at start-up.
bool register_op(std::string_view op_type, Factory factory, Signature signature);
// For poet's own fused forms, which only the optimiser makes: no OpDef to check against.
bool register_op(std::string_view op_type, Factory factory);

}  // namespace poet::ops

#define POET_OPS_CONCAT_(a, b) a##b
#define POET_OPS_CONCAT(a, b) POET_OPS_CONCAT_(a, b)
#define POET_REGISTER_OP(op_type, ...)                                                \
  [[maybe_unused]] static const bool POET_OPS_CONCAT(poet_registered_op_, __LINE__) = \
      ::poet::ops::register_op(op_type, __VA_ARGS__)
