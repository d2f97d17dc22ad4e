// Op registration. Each engine/ops/<op>.cc registers the TensorFlow op types it implements:
//
//   POET_REGISTER_OP("Conv2D", make_conv2d);
//
// so an op type's name leads straight to its file. (poet_engine is linked whole-archive so
// these registrations are never dropped by the linker.)
#pragma once

#include <memory>
#include <string_view>

#include "engine/op.h"

namespace poet::ops {

using Factory = std::unique_ptr<Op> (*)(const Node&, const OpOptions&);

// Called by POET_REGISTER_OP at static initialisation; a duplicate name aborts at start-up.
bool register_op(std::string_view op_type, Factory factory);

}  // namespace poet::ops

#define POET_OPS_CONCAT_(a, b) a##b
#define POET_OPS_CONCAT(a, b) POET_OPS_CONCAT_(a, b)
#define POET_REGISTER_OP(op_type, factory)                                            \
  [[maybe_unused]] static const bool POET_OPS_CONCAT(poet_registered_op_, __LINE__) = \
      ::poet::ops::register_op(op_type, factory)
