// Checked access to model.json fields: a missing or mistyped field is an Error naming it.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>

#include "engine/error.h"

namespace poet::tfjs {

using Json = nlohmann::json;

// Parses a JSON file (bounded in size); errors name the file.
Json read_json(const std::filesystem::path& path);

// j[key], which must exist; `where` names the enclosing object in errors.
const Json& field(const Json& j, std::string_view key, std::string_view where);

template <class T>
T get(const Json& j, std::string_view key, std::string_view where) {
  const Json& v = field(j, key, where);
  try {
    return v.get<T>();
  } catch (const Json::exception&) {
    fail(where, ": field '", key, "' has the wrong type (", v.dump().substr(0, 80), ")");
  }
}

// e.what() without nlohmann's "[json.exception.type_error.302] " prefix.
std::string_view json_message(const Json::exception& e);

// fn(), with nlohmann's own exceptions (a value of the wrong type where a converter reads it
// directly) turned into an Error naming `where`.
template <class F>
auto naming_json_errors(std::string_view where, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Json::exception& e) {
    fail(where, ": malformed JSON value: ", json_message(e));
  }
}

template <class T>
T get_or(const Json& j, std::string_view key, T fallback, std::string_view where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return get<T>(j, key, where);
}

}  // namespace poet::tfjs
