// The weights manifest: groups of weights stored back to back across shard files, each
// float32, float16, or quantized to uint8/uint16 with a per-tensor affine map.
#include <cmath>
#include <cstring>

#include "engine/file_io.h"
#include "importers/tfjs/json_util.h"
#include "importers/tfjs/tfjs.h"

namespace poet::tfjs {
namespace {

float half_to_float(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float magnitude;
  if (exp == 0) {
    magnitude = std::ldexp(static_cast<float>(mant), -24);  // subnormal
  } else if (exp == 31) {
    magnitude = mant ? NAN : INFINITY;
  } else {
    magnitude = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
  }
  uint32_t bits;
  std::memcpy(&bits, &magnitude, 4);
  bits |= sign;
  std::memcpy(&magnitude, &bits, 4);
  return magnitude;
}

// How one weight is stored: element size and how to turn element i into a float.
struct Storage {
  std::string dtype;  // float32, float16, uint8, uint16
  double min = 0, scale = 1;

  size_t element_size() const { return dtype == "float32" ? 4 : dtype == "uint8" ? 1 : 2; }

  float value(const unsigned char* p) const {
    if (dtype == "float32") {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
    if (dtype == "uint8") return static_cast<float>(min + scale * p[0]);  // double, then round
    uint16_t v;
    std::memcpy(&v, p, 2);
    if (dtype == "float16") return half_to_float(v);
    return static_cast<float>(min + scale * v);
  }
};

Storage storage_of(const Json& w, const std::string& where) {
  Storage s;
  s.dtype = get<std::string>(w, "dtype", where);
  if (s.dtype != "float32")
    fail(where, ": weight dtype '", s.dtype, "' is not supported (float32 only)");
  auto q = w.find("quantization");
  if (q == w.end()) return s;
  s.dtype = get<std::string>(*q, "dtype", where + " quantization");
  if (s.dtype == "float16") return s;
  if (s.dtype != "uint8" && s.dtype != "uint16")
    fail(where, ": quantization dtype '", s.dtype, "' is not supported (uint8, uint16, float16)");
  s.min = get<double>(*q, "min", where + " quantization");
  s.scale = get<double>(*q, "scale", where + " quantization");
  return s;
}

// The group's shards, concatenated: the manifest's byte offsets run across shard boundaries.
std::string read_shards(const Json& group, const std::filesystem::path& dir) {
  std::string bytes;
  for (const Json& p : field(group, "paths", "weightsManifest group")) {
    if (!p.is_string()) fail("weightsManifest: a shard path is not a string");
    std::filesystem::path rel = p.get<std::string>();
    if (rel.is_absolute() || rel.lexically_normal().string().starts_with(".."))
      fail("weightsManifest: shard path '", rel.string(), "' leaves the model's directory");
    bytes += read_file(dir / rel, size_t{1} << 31);
  }
  return bytes;
}

}  // namespace

std::map<std::string, Tensor> load_weights(const std::filesystem::path& model_json) {
  Json model = read_json(model_json);
  const std::string where = model_json.string();
  std::map<std::string, Tensor> weights;
  for (const Json& group : field(model, "weightsManifest", where)) {
    std::string bytes = read_shards(group, model_json.parent_path());
    size_t offset = 0;
    for (const Json& w : field(group, "weights", where + " weightsManifest")) {
      std::string name = get<std::string>(w, "name", where + " weight");
      std::string what = str_cat(where, ": weight '", name, "'");
      Storage storage = storage_of(w, what);
      Shape shape = get<Shape>(w, "shape", what);
      Tensor t(DType::kFloat32, shape);
      size_t need = static_cast<size_t>(t.num_elements()) * storage.element_size();
      if (need > bytes.size() - offset)
        fail(what, " needs ", need, " bytes at offset ", offset, " but the shards hold only ",
             bytes.size(), " bytes");
      auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + offset);
      std::span<float> out = t.data<float>();
      for (size_t i = 0; i < out.size(); ++i)
        out[i] = storage.value(p + i * storage.element_size());
      offset += need;
      if (!weights.emplace(name, std::move(t)).second) fail(what, " appears twice in the manifest");
    }
  }
  return weights;
}

}  // namespace poet::tfjs
