#include "engine/graph.h"

#include <algorithm>
#include <charconv>
#include <set>

namespace poet {

bool PartialShape::fully_known() const {
  return known_rank && std::all_of(dims.begin(), dims.end(), [](int64_t d) { return d >= 0; });
}

int64_t PartialShape::dim(int i) const {
  if (!known_rank) return -1;
  if (i < 0) i += rank();
  return i >= 0 && i < rank() ? dims[i] : -1;
}

bool PartialShape::compatible_with(const PartialShape& other) const {
  if (!known_rank || !other.known_rank) return true;
  if (rank() != other.rank()) return false;
  for (int i = 0; i < rank(); ++i)
    if (dims[i] >= 0 && other.dims[i] >= 0 && dims[i] != other.dims[i]) return false;
  return true;
}

std::string PartialShape::str() const { return known_rank ? shape_string(dims) : "<unknown>"; }

const Shape& PartialShape::known() const {
  if (!fully_known()) fail("shape ", str(), " is not fully known");
  return dims;
}

std::string Node::describe() const { return str_cat("node '", name, "' (", op, ")"); }

const AttrValue& Node::attr(std::string_view key) const {
  auto it = attrs.find(std::string(key));
  if (it == attrs.end()) fail(describe(), ": missing attribute '", key, "'");
  return it->second;
}

template <class T>
const T& Node::attr_as(std::string_view key, std::string_view type_name) const {
  const T* v = std::get_if<T>(&attr(key));
  if (!v) fail(describe(), ": attribute '", key, "' is not ", type_name);
  return *v;
}

int64_t Node::attr_int(std::string_view key) const { return attr_as<int64_t>(key, "an int"); }
int64_t Node::attr_int(std::string_view key, int64_t fallback) const {
  return has_attr(key) ? attr_int(key) : fallback;
}
float Node::attr_float(std::string_view key, float fallback) const {
  return has_attr(key) ? attr_as<float>(key, "a float") : fallback;
}
bool Node::attr_bool(std::string_view key, bool fallback) const {
  return has_attr(key) ? attr_as<bool>(key, "a bool") : fallback;
}
const std::string& Node::attr_string(std::string_view key) const {
  return attr_as<std::string>(key, "a string");
}
std::string Node::attr_string(std::string_view key, std::string_view fallback) const {
  return has_attr(key) ? attr_string(key) : std::string(fallback);
}
DType Node::attr_type(std::string_view key) const { return attr_as<DType>(key, "a type"); }
DType Node::attr_type(std::string_view key, DType fallback) const {
  return has_attr(key) ? attr_type(key) : fallback;
}
const Tensor& Node::attr_tensor(std::string_view key) const {
  return attr_as<Tensor>(key, "a tensor");
}
PartialShape Node::attr_shape(std::string_view key) const {
  return attr_as<PartialShape>(key, "a shape");
}
PartialShape Node::attr_shape(std::string_view key, PartialShape fallback) const {
  return has_attr(key) ? attr_shape(key) : fallback;
}
std::vector<int64_t> Node::attr_ints(std::string_view key) const {
  const AttrValue& v = attr(key);
  if (auto* ints = std::get_if<std::vector<int64_t>>(&v)) return *ints;
  // An empty list carries no element type in a GraphDef; accept any empty list.
  auto empty = [](const auto& x) {
    if constexpr (requires {
                    x.empty();
                    x.begin();
                  }) {
      return !std::is_same_v<std::decay_t<decltype(x)>, std::string> && x.empty();
    }
    return false;
  };
  if (std::visit(empty, v)) return {};
  fail(describe(), ": attribute '", key, "' is not a list of ints");
}
std::vector<int64_t> Node::attr_ints(std::string_view key, std::vector<int64_t> fallback) const {
  return has_attr(key) ? attr_ints(key) : fallback;
}

int Graph::add(Node node) {
  if (node.name.empty()) fail("a node has an empty name (op ", node.op, ")");
  int index = size();
  auto [it, inserted] = index_.emplace(node.name, index);
  if (!inserted) fail("two nodes are named '", node.name, "'");
  nodes_.push_back(std::move(node));
  return index;
}

void Graph::rename(int i, std::string name) {
  if (find(name) >= 0)
    fail("cannot rename '", nodes_.at(i).name, "': a node is already named '", name, "'");
  index_.erase(nodes_.at(i).name);
  index_.emplace(name, i);
  nodes_[i].name = std::move(name);
}

std::string unused_name(const std::string& base,
                        const std::function<bool(const std::string&)>& taken) {
  std::string name = base;
  for (int k = 1; taken(name); ++k) name = str_cat(base, "_", k);
  return name;
}

int Graph::find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? -1 : it->second;
}

Endpoint Graph::endpoint(std::string_view spec) const {
  std::string_view name = spec;
  int index = 0;
  if (size_t colon = spec.rfind(':'); colon != std::string_view::npos) {
    std::string_view digits = spec.substr(colon + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() || index < 0)
      fail("bad tensor name '", spec, "': expected NODE or NODE:INDEX");
    name = spec.substr(0, colon);
  }
  int node = find(name);
  if (node < 0) fail("the graph has no node named '", name, "' (from tensor '", spec, "')");
  return {node, index};
}

std::string Graph::endpoint_name(Endpoint e) const {
  return str_cat(node(e.node).name, ":", e.index);
}

std::vector<int> Graph::topological_order(std::span<const char> include) const {
  // Iterative depth-first search; state 1 = on the current path, 2 = done.
  auto included = [&](int n) { return include.empty() || include[n]; };
  std::vector<int> order, state(size(), 0);
  order.reserve(size());
  std::vector<std::pair<int, size_t>> stack;
  for (int root = 0; root < size(); ++root) {
    if (state[root] || !included(root)) continue;
    stack.push_back({root, 0});
    state[root] = 1;
    while (!stack.empty()) {
      auto& [n, next] = stack.back();
      const Node& node = nodes_[n];
      size_t fan_in = node.inputs.size() + node.control_inputs.size();
      if (next == fan_in) {
        state[n] = 2;
        order.push_back(n);
        stack.pop_back();
        continue;
      }
      int pred = next < node.inputs.size() ? node.inputs[next].node
                                           : node.control_inputs[next - node.inputs.size()];
      ++next;
      if (state[pred] == 2 || !included(pred)) continue;
      if (state[pred] == 1) {
        std::string cycle = nodes_[pred].name;
        for (auto it = stack.rbegin(); it != stack.rend() && it->first != pred; ++it)
          cycle = nodes_[it->first].name + " -> " + cycle;
        fail("the graph has a cycle: ", nodes_[pred].name, " -> ", cycle);
      }
      state[pred] = 1;
      stack.push_back({pred, 0});
    }
  }
  return order;
}

std::vector<int> Graph::needed_nodes(std::span<const Endpoint> fetches,
                                     std::span<const Endpoint> feeds,
                                     std::vector<int>* needed_by) const {
  std::set<Endpoint> fed(feeds.begin(), feeds.end());
  std::vector<int> by(size(), -1);
  std::vector<int> work;
  auto want = [&](int n, int fetch) {
    if (by[n] < 0) {
      by[n] = fetch;
      work.push_back(n);
    }
  };
  for (size_t f = 0; f < fetches.size(); ++f) {
    if (!fed.count(fetches[f])) want(fetches[f].node, static_cast<int>(f));
  }
  while (!work.empty()) {
    int n = work.back();
    work.pop_back();
    const Node& node = nodes_[n];
    for (const Endpoint& in : node.inputs)
      if (!fed.count(in)) want(in.node, by[n]);
    // A fed Placeholder's control edges leave from its feed, as in TensorFlow's FeedInputs.
    for (int c : node.control_inputs)
      if (!fed.count({c, 0}) || nodes_[c].op != "Placeholder") want(c, by[n]);
  }
  std::vector<char> include(size());
  for (int n = 0; n < size(); ++n) include[n] = by[n] >= 0;
  std::vector<int> order = topological_order(include);
  if (needed_by) *needed_by = std::move(by);
  return order;
}

}  // namespace poet
