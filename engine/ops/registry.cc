// The table of op types poet runs, filled by POET_REGISTER_OP in each engine/ops/<op>.cc, and
// the checks of a node against its op's Signature.
#include "engine/ops/registry.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace poet {
namespace {

struct Registration {
  ops::Factory factory;
  std::optional<ops::Signature> signature;
};

std::map<std::string, Registration, std::less<>>& registry() {
  static std::map<std::string, Registration, std::less<>> table;
  return table;
}

bool add(std::string_view op_type, Registration registration) {
  if (!registry().emplace(std::string(op_type), std::move(registration)).second) {
    std::fprintf(stderr, "poet: op '%.*s' is registered twice\n", static_cast<int>(op_type.size()),
                 op_type.data());
    std::abort();
  }
  return true;
}

std::string list_string(const std::vector<std::string_view>& names) {
  std::string s;
  for (std::string_view n : names) s += std::string(s.empty() ? "" : ", ").append(n);
  return s;
}

void check_attr_names(const Node& node, const ops::Signature& signature) {
  for (const auto& [key, value] : node.attrs) {
    if (std::find(signature.attrs.begin(), signature.attrs.end(), key) == signature.attrs.end())
      fail(node.describe(), ": attribute '", key, "' is not one of ", node.op, "'s (",
           signature.attrs.empty() ? "it has none" : list_string(signature.attrs), ")");
  }
}

// The dtype an input entry of a Signature names, or nullopt for a type attribute's name.
std::optional<DType> fixed_dtype(std::string_view entry) {
  for (DType d : {DType::kFloat32, DType::kInt32, DType::kString})
    if (dtype_name(d) == entry) return d;
  return std::nullopt;
}

}  // namespace

bool ops::register_op(std::string_view op_type, Factory factory, Signature signature) {
  return add(op_type, {factory, std::move(signature)});
}

bool ops::register_op(std::string_view op_type, Factory factory) {
  return add(op_type, {factory, std::nullopt});
}

bool is_known_op(std::string_view op_type) { return registry().count(op_type) > 0; }

std::unique_ptr<Op> make_op(const Node& node, const OpOptions& options) {
  if (!node.import_error.empty()) fail(node.describe(), ": ", node.import_error);
  auto it = registry().find(node.op);
  if (it == registry().end()) fail(node.describe(), ": poet does not implement op '", node.op, "'");
  const Registration& r = it->second;
  if (r.signature) check_attr_names(node, *r.signature);
  if (options.op_backends.empty()) return r.factory(node, options);
  OpOptions own = options;
  own.backend = options.backend_for(node.op);
  return r.factory(node, own);
}

void check_input_types(const Node& node, std::span<const TensorInfo* const> inputs) {
  auto it = registry().find(node.op);
  if (it == registry().end() || !it->second.signature) return;
  const std::vector<std::string_view>& entries = it->second.signature->inputs;
  // A list entry ("N*T") takes the inputs the other entries leave.
  const size_t list = inputs.size() + 1 > entries.size() ? inputs.size() + 1 - entries.size() : 0;
  std::map<std::string_view, std::pair<DType, size_t>> bound;  // attribute: dtype, whose input
  size_t i = 0;
  for (std::string_view entry : entries) {
    const size_t star = entry.find('*');
    const std::string_view type = star == entry.npos ? entry : entry.substr(star + 1);
    for (size_t k = 0; k < (star == entry.npos ? 1 : list) && i < inputs.size(); ++k, ++i) {
      const DType got = inputs[i]->dtype;
      if (got == DType::kInvalid) continue;
      if (std::optional<DType> want = fixed_dtype(type)) {
        if (got != *want)
          fail(node.describe(), ": input ", i, " is ", dtype_name(got), ", ", node.op, " takes ",
               dtype_name(*want), " there");
      } else if (node.has_attr(type)) {
        if (DType want = node.attr_type(type); got != want)
          fail(node.describe(), ": input ", i, " is ", dtype_name(got), ", but attribute ", type,
               " says ", dtype_name(want));
      } else if (auto [b, fresh] = bound.try_emplace(type, got, i);
                 !fresh && b->second.first != got) {
        fail(node.describe(), ": input ", i, " is ", dtype_name(got), " and input ",
             b->second.second, " ", dtype_name(b->second.first), ", but ", node.op,
             " takes both of type ", type);
      }
    }
  }
}

}  // namespace poet
