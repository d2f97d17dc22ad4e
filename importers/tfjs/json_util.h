// Checked access to model.json fields: a missing or mistyped field is an Error naming it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <string_view>
#include <type_traits>
#include <vector>

#include "engine/error.h"

namespace poet::tfjs {

using Json = nlohmann::json;

// Parses a JSON file (bounded in size); errors name the file.
Json read_json(const std::filesystem::path& path);

// j[key], which must exist; `where` names the enclosing object in errors.
const Json& field(const Json& j, std::string_view key, std::string_view where);

// Whether v is an integer in [lo, hi]. nlohmann keeps one past int64 as unsigned, and one past
// uint64 as a double.
bool integer_within(const Json& v, int64_t lo, uint64_t hi);

// Whether v is a number whose magnitude is at most `max` (not infinite).
bool number_within(const Json& v, double max);

template <class T>
struct IsVector : std::false_type {};
template <class U>
struct IsVector<std::vector<U>> : std::true_type {};

// v as T, field `key` of `where` in errors. Numbers must fit T: nlohmann's own conversion
// casts 1.5 to an integer 1, wraps 2^64 - 1 to -1, and casting a double past the range of T is
// undefined behaviour. Lists are checked element by element; other types (strings, bools) are
// nlohmann's, whose exception `get` names.
template <class T>
T as(const Json& v, std::string_view key, std::string_view where) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using Limits = std::numeric_limits<T>;
    if (!integer_within(v, Limits::min(), Limits::max()))
      fail(where, ": field '", key, "' must be an integer from ", Limits::min(), " to ",
           Limits::max(), ", not ", v.dump().substr(0, 80));
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!number_within(v, std::numeric_limits<T>::max()))
      fail(where, ": field '", key, "' must be a finite number within ",
           std::numeric_limits<T>::max(), ", not ", v.dump().substr(0, 80));
  } else if constexpr (IsVector<T>::value && !std::is_same_v<T, std::vector<Json>>) {
    if (!v.is_array()) fail(where, ": field '", key, "' must be a list");
    T out;
    for (const Json& e : v) out.push_back(as<typename T::value_type>(e, key, where));
    return out;
  }
  return v.get<T>();
}

template <class T>
T get(const Json& j, std::string_view key, std::string_view where) {
  const Json& v = field(j, key, where);
  try {
    return as<T>(v, key, where);
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
