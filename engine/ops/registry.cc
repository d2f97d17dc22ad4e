// The table of op types poet runs: TensorFlow's op name -> the factory in engine/ops/.
#include <map>
#include <string_view>

#include "engine/ops/ops.h"

namespace poet {
namespace {

const std::map<std::string_view, ops::Factory>& registry() {
  static const std::map<std::string_view, ops::Factory> table = {
      {"CheckNumerics", ops::make_check_numerics},
      {"Const", ops::make_const},
      {"Conv2D", ops::make_conv2d},
      {"Identity", ops::make_identity},
      {"NoOp", ops::make_no_op},
      {"Placeholder", ops::make_placeholder},
      {"PlaceholderWithDefault", ops::make_placeholder_with_default},
  };
  return table;
}

}  // namespace

bool is_known_op(std::string_view op_type) { return registry().count(op_type) > 0; }

std::unique_ptr<Op> make_op(const Node& node, const OpOptions& options) {
  if (!node.import_error.empty()) fail(node.describe(), ": ", node.import_error);
  auto it = registry().find(node.op);
  if (it == registry().end()) fail(node.describe(), ": poet does not implement op '", node.op, "'");
  return it->second(node, options);
}

}  // namespace poet
