#include "importers/tensorflow/replicas/graph_builder.h"

#include <cmath>
#include <random>

#include "engine/error.h"
#include "importers/tensorflow/graphdef.h"

namespace poet::tf::replicas {
namespace {

uint32_t fnv1a(std::string_view s) {
  uint32_t h = 2166136261u;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return h;
}

// std::mt19937's output sequence is fixed by the standard; std::*_distribution are not, so the
// values are made here from its raw 32-bit outputs with exact double arithmetic only (no libm
// transcendental functions, whose last bit differs between C libraries).
class PortableRandom {
 public:
  explicit PortableRandom(uint32_t seed) : gen_(seed) {}

  // Uniform on (0, 1), a multiple of 2^-24 plus half a step: exactly representable.
  double uniform() { return (static_cast<double>(gen_() >> 8) + 0.5) / 16777216.0; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Irwin-Hall: the sum of 4 uniforms, centred and scaled to variance 1, is a bell shape
  // bounded by +-2*sqrt(3): close enough to a normal for initialisation, and exact on every
  // platform (sqrt is correctly rounded by IEEE 754).
  double normal() {
    double sum = uniform() + uniform() + uniform() + uniform();
    return (sum - 2.0) * std::sqrt(3.0);
  }

 private:
  std::mt19937 gen_;
};

Tensor fill(const Shape& shape, const std::function<double()>& draw) {
  Tensor t(DType::kFloat32, shape);
  for (float& v : t.data<float>()) v = static_cast<float>(draw());
  return t;
}

}  // namespace

WeightSource seeded_weights(uint32_t seed) {
  return [seed](const WeightRequest& r) {
    PortableRandom rng(fnv1a(r.name) ^ (seed * 0x9E3779B9u));
    const Shape& s = r.shape;
    auto normal_with_std = [&](double std) {
      return fill(s, [&rng, std] { return std * rng.normal(); });
    };
    auto uniform = [&](double lo, double hi) {
      return fill(s, [&rng, lo, hi] { return rng.uniform(lo, hi); });
    };
    switch (r.role) {
      case WeightRole::kConvFilter:  // He: Var(out) = 2 E[in^2] = Var(pre-ReLU input)
        return normal_with_std(std::sqrt(2.0 / static_cast<double>(s.at(0) * s.at(1) * s.at(2))));
      case WeightRole::kDepthwiseFilter:
        return normal_with_std(std::sqrt(2.0 / static_cast<double>(s.at(0) * s.at(1))));
      case WeightRole::kDenseWeights:
        return normal_with_std(std::sqrt(1.0 / static_cast<double>(s.at(0))));
      case WeightRole::kBias:
        return uniform(-0.1, 0.1);
      case WeightRole::kBnGamma:
        return uniform(0.9, 1.1);
      case WeightRole::kBnBeta:  // slightly positive, so most ReLUs stay alive
        return uniform(-0.05, 0.15);
      case WeightRole::kBnMean:
        return uniform(-0.05, 0.05);
      case WeightRole::kBnVariance:  // He-initialised layers keep about unit variance
        return uniform(0.9, 1.1);
    }
    fail("seeded weights: unknown role for '", r.name, "'");
  };
}

Tensor request_weight(const WeightSource& source, std::string_view name, WeightRole role,
                      const Shape& shape) {
  Tensor t = source(WeightRequest{name, role, shape});
  if (t.dtype() != DType::kFloat32)
    fail("weight '", name, "' is ", dtype_name(t.dtype()), ", expected float32");
  if (t.shape() != shape)
    fail("weight '", name, "' has shape ", shape_string(t.shape()), ", expected ",
         shape_string(shape));
  return t;
}

tensorflow::NodeDef& GraphBuilder::add(std::string_view name, std::string_view op,
                                       const std::vector<std::string>& inputs) {
  if (!names_.emplace(name).second) fail("graph builder: node '", name, "' added twice");
  tensorflow::NodeDef* node = graph_def_.add_node();
  node->set_name(std::string(name));
  node->set_op(std::string(op));
  for (const std::string& in : inputs) node->add_input(in);
  return *node;
}

tensorflow::NodeDef& GraphBuilder::add(std::string_view name, std::string_view op,
                                       std::initializer_list<std::string_view> inputs) {
  return add(name, op, std::vector<std::string>(inputs.begin(), inputs.end()));
}

tensorflow::NodeDef& GraphBuilder::constant(std::string_view name, const Tensor& value) {
  tensorflow::NodeDef& node = add(name, "Const");
  set_type(node, "dtype", dtype_to_proto(value.dtype()));
  tensorflow::TensorProto* proto = (*node.mutable_attr())["value"].mutable_tensor();
  if (value.rank() > 0 || value.dtype() == DType::kString) {
    tensor_to_proto(value, proto);
    return node;
  }
  proto->set_dtype(dtype_to_proto(value.dtype()));
  proto->mutable_tensor_shape();  // present and empty: a scalar
  switch (value.dtype()) {
    case DType::kFloat32:
      proto->add_float_val(value.data<float>()[0]);
      break;
    case DType::kInt32:
      proto->add_int_val(value.data<int32_t>()[0]);
      break;
    default:
      fail("graph builder: scalar Const '", name, "' of ", dtype_name(value.dtype()),
           " is not supported");
  }
  return node;
}

void set_type(tensorflow::NodeDef& node, const std::string& key, tensorflow::DataType type) {
  (*node.mutable_attr())[key].set_type(type);
}
void set_s(tensorflow::NodeDef& node, const std::string& key, std::string_view value) {
  (*node.mutable_attr())[key].set_s(std::string(value));
}
void set_i(tensorflow::NodeDef& node, const std::string& key, int64_t value) {
  (*node.mutable_attr())[key].set_i(value);
}
void set_f(tensorflow::NodeDef& node, const std::string& key, float value) {
  (*node.mutable_attr())[key].set_f(value);
}
void set_b(tensorflow::NodeDef& node, const std::string& key, bool value) {
  (*node.mutable_attr())[key].set_b(value);
}
void set_ints(tensorflow::NodeDef& node, const std::string& key, std::vector<int64_t> values) {
  auto* list = (*node.mutable_attr())[key].mutable_list();
  for (int64_t v : values) list->add_i(v);
}
void set_strings(tensorflow::NodeDef& node, const std::string& key,
                 std::vector<std::string> values) {
  auto* list = (*node.mutable_attr())[key].mutable_list();
  for (std::string& v : values) list->add_s(std::move(v));
}
void set_shape(tensorflow::NodeDef& node, const std::string& key, const Shape& shape) {
  auto* proto = (*node.mutable_attr())[key].mutable_shape();
  for (int64_t d : shape) proto->add_dim()->set_size(d);
}

}  // namespace poet::tf::replicas
