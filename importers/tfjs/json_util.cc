#include "importers/tfjs/json_util.h"

#include <cmath>

#include "engine/file_io.h"

namespace poet::tfjs {

Json read_json(const std::filesystem::path& path) {
  std::string text = read_file(path, size_t{64} << 20);
  try {
    // model.json is a few levels deep; a deeper file is not a model and is refused early.
    auto limit = [&](int depth, Json::parse_event_t, Json&) {
      if (depth > 64) fail(path.string(), ": JSON nested more than 64 levels deep");
      return true;
    };
    return Json::parse(text, limit);
  } catch (const Json::exception& e) {
    fail(path.string(), ": not valid JSON: ", json_message(e));
  }
}

std::string_view json_message(const Json::exception& e) {
  std::string_view what = e.what();
  const size_t end = what.starts_with("[json.exception.") ? what.find("] ") : what.npos;
  if (end != what.npos) what.remove_prefix(end + 2);
  return what;
}

bool integer_within(const Json& v, int64_t lo, uint64_t hi) {
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= hi;
  if (!v.is_number_integer()) return false;
  const int64_t x = v.get<int64_t>();
  return x >= lo && (x < 0 || static_cast<uint64_t>(x) <= hi);
}

bool number_within(const Json& v, double max) {
  return v.is_number() && std::fabs(v.get<double>()) <= max;
}

const Json& field(const Json& j, std::string_view key, std::string_view where) {
  if (!j.is_object()) fail(where, ": expected a JSON object");
  auto it = j.find(key);
  if (it == j.end()) fail(where, ": missing field '", key, "'");
  return *it;
}

}  // namespace poet::tfjs
