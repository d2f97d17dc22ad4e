// The weights manifest: groups of weights stored back to back across shard files, each
// float32, float16, or quantized to uint8/uint16 with a per-tensor affine map.
#include <algorithm>
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

// A manifest group's shard files, in `dir` (the model's directory, which they may not leave).
std::vector<std::filesystem::path> shard_paths(const Json& group,
                                               const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> paths;
  for (const Json& p : field(group, "paths", "weightsManifest group")) {
    if (!p.is_string()) fail("weightsManifest: a shard path is not a string");
    std::filesystem::path rel = p.get<std::string>();
    if (rel.is_absolute() || rel.lexically_normal().string().starts_with(".."))
      fail("weightsManifest: shard path '", rel.string(), "' leaves the model's directory");
    paths.push_back(dir / rel);
  }
  return paths;
}

// A group's shards, read one at a time: the manifest's byte offsets run across shard
// boundaries, so a weight may start in one file and end in the next. Only the current shard
// (and a weight split across two) is held, never the whole group.
class ShardReader {
 public:
  ShardReader(const Json& group, const std::filesystem::path& dir)
      : paths_(shard_paths(group, dir)) {
    for (const std::filesystem::path& path : paths_) {
      std::error_code ec;
      const uintmax_t size = std::filesystem::file_size(path, ec);
      if (ec) fail(path.string(), ": cannot read weight shard: ", ec.message());
      total_ += size;
    }
  }

  // Bytes the group's files hold; checked before a weight's tensor is allocated.
  uint64_t total() const { return total_; }
  uint64_t offset() const { return offset_; }

  // The next n bytes: a view into the current shard, or into a copy when they span shards.
  // Fails, naming `what`, when the shards end first (a file shorter than its size said).
  std::string_view take(size_t n, const std::string& what) {
    if (n <= shard_.size() - pos_) return advance(n);
    joined_.clear();
    while (joined_.size() < n) {
      if (pos_ == shard_.size()) {
        if (next_ == paths_.size())
          fail(what, " needs ", n, " bytes at offset ", offset_, " but the shards end first");
        shard_ = read_file(paths_[next_++], size_t{1} << 31);
        pos_ = 0;
      }
      const std::string_view part = advance(std::min(n - joined_.size(), shard_.size() - pos_));
      if (joined_.empty() && part.size() == n) return part;  // whole in the newly read shard
      joined_.append(part);
    }
    return joined_;
  }

 private:
  std::string_view advance(size_t n) {
    std::string_view v(shard_.data() + pos_, n);
    pos_ += n;
    offset_ += n;
    return v;
  }

  std::vector<std::filesystem::path> paths_;
  uint64_t total_ = 0, offset_ = 0;
  size_t next_ = 0, pos_ = 0;
  std::string shard_, joined_;
};

// Reads the next weight of `reader` as float32, after checking the shards hold its bytes.
Tensor read_weight(ShardReader& reader, const Storage& storage, const Shape& shape,
                   const std::string& what) {
  int64_t elements = 0;
  try {
    elements = num_elements(shape);
  } catch (const Error& e) {
    fail(what, ": ", e.what());
  }
  const size_t size = storage.element_size();
  const uint64_t left = reader.total() - std::min(reader.offset(), reader.total());
  if (static_cast<uint64_t>(elements) > left / size)
    fail(what, " needs ", elements, " x ", size, " bytes at offset ", reader.offset(),
         " but the shards hold only ", reader.total(), " bytes");
  Tensor t(DType::kFloat32, shape);
  const std::string_view bytes = reader.take(static_cast<size_t>(elements) * size, what);
  auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::span<float> out = t.data<float>();
  for (size_t i = 0; i < out.size(); ++i) out[i] = storage.value(p + i * size);
  return t;
}

}  // namespace

std::map<std::string, Tensor> load_weights(const Json& model,
                                           const std::filesystem::path& model_json) {
  const std::string where = model_json.string();
  std::map<std::string, Tensor> weights;
  for (const Json& group : field(model, "weightsManifest", where)) {
    ShardReader reader(group, model_json.parent_path());
    for (const Json& w : field(group, "weights", where + " weightsManifest")) {
      std::string name = get<std::string>(w, "name", where + " weight");
      std::string what = str_cat(where, ": weight '", name, "'");
      if (weights.count(name)) fail(what, " appears twice in the manifest");
      weights.emplace(name,
                      read_weight(reader, storage_of(w, what), get<Shape>(w, "shape", what), what));
    }
  }
  return weights;
}

std::vector<std::filesystem::path> model_files(const std::filesystem::path& model_json) {
  return naming_json_errors(model_json.string(), [&] {
    const Json model = read_json(model_json);
    std::vector<std::filesystem::path> files = {model_json};
    for (const Json& group : field(model, "weightsManifest", model_json.string()))
      for (std::filesystem::path& shard : shard_paths(group, model_json.parent_path()))
        files.push_back(std::move(shard));
    return files;
  });
}

std::map<std::string, Tensor> load_weights(const std::filesystem::path& model_json) {
  return naming_json_errors(model_json.string(),
                            [&] { return load_weights(read_json(model_json), model_json); });
}

}  // namespace poet::tfjs
