// Factories for every op poet runs, one per engine/ops/<op>.cc file. registry.cc maps
// TensorFlow op type names onto them.
#pragma once

#include <memory>

#include "engine/op.h"

namespace poet::ops {

using Factory = std::unique_ptr<Op> (*)(const Node&, const OpOptions&);

std::unique_ptr<Op> make_const(const Node&, const OpOptions&);
std::unique_ptr<Op> make_placeholder(const Node&, const OpOptions&);
std::unique_ptr<Op> make_placeholder_with_default(const Node&, const OpOptions&);
std::unique_ptr<Op> make_identity(const Node&, const OpOptions&);
std::unique_ptr<Op> make_check_numerics(const Node&, const OpOptions&);
std::unique_ptr<Op> make_no_op(const Node&, const OpOptions&);
std::unique_ptr<Op> make_conv2d(const Node&, const OpOptions&);

}  // namespace poet::ops
