// The table of op types poet runs, filled by POET_REGISTER_OP in each engine/ops/<op>.cc.
#include "engine/ops/registry.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace poet {
namespace {

std::map<std::string, ops::Factory, std::less<>>& registry() {
  static std::map<std::string, ops::Factory, std::less<>> table;
  return table;
}

}  // namespace

bool ops::register_op(std::string_view op_type, Factory factory) {
  if (!registry().emplace(std::string(op_type), factory).second) {
    std::fprintf(stderr, "poet: op '%.*s' is registered twice\n", static_cast<int>(op_type.size()),
                 op_type.data());
    std::abort();
  }
  return true;
}

bool is_known_op(std::string_view op_type) { return registry().count(op_type) > 0; }

std::vector<std::string> known_ops() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

std::unique_ptr<Op> make_op(const Node& node, const OpOptions& options) {
  if (!node.import_error.empty()) fail(node.describe(), ": ", node.import_error);
  auto it = registry().find(node.op);
  if (it == registry().end()) fail(node.describe(), ": poet does not implement op '", node.op, "'");
  if (options.op_backends.empty()) return it->second(node, options);
  OpOptions own = options;
  own.backend = options.backend_for(node.op);
  return it->second(node, own);
}

}  // namespace poet
