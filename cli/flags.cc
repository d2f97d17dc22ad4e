#include "cli/flags.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "engine/error.h"

namespace poet::cli {
namespace {

bool parse_bool(std::string_view name, std::string_view text) {
  if (text == "true" || text == "1" || text == "True") return true;
  if (text == "false" || text == "0" || text == "False") return false;
  fail("--", name, ": expected true or false, got '", text, "'");
}

}  // namespace

std::optional<double> parse_number(std::string_view text) {
  std::string_view body = text;
  if (body.starts_with('+') && !body.substr(1).starts_with('-')) body.remove_prefix(1);
  // from_chars reads decimal only (std::chars_format::general); strtod then gives the value,
  // rounded as before, and infinity where from_chars finds it out of range.
  double value = 0;
  const auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), value);
  if (body.empty() || end != body.data() + body.size() ||
      (ec != std::errc() && ec != std::errc::result_out_of_range))
    return std::nullopt;
  return std::strtod(std::string(text).c_str(), nullptr);
}

Flags::Flags(std::string_view command, std::string_view usage, std::vector<FlagSpec> specs,
             Args args)
    : command_(command), usage_(usage), specs_(std::move(specs)) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      help_ = true;
      print_usage();
      return;
    }
    if (arg == "--") {
      for (++i; i < args.size(); ++i) positional_.emplace_back(args[i]);
      break;
    }
    if (arg.size() < 3 || arg.substr(0, 2) != "--") {
      positional_.emplace_back(arg);
      continue;
    }
    std::string_view body = arg.substr(2);
    std::string_view name = body.substr(0, body.find('='));
    bool has_value = name.size() != body.size();
    const FlagSpec* s = find(name);
    const FlagSpec* negated = name.starts_with("no") ? find(name.substr(2)) : nullptr;
    std::string value;
    if (!s && !has_value && negated && negated->is_bool) {
      s = negated;
      value = "false";
    } else {
      if (!s) s = &by_prefix(name);
      if (has_value) {
        value = std::string(body.substr(name.size() + 1));
        if (s->is_bool) parse_bool(s->name, value);
      } else if (s->is_bool) {
        value = "true";
      } else {
        if (i + 1 >= args.size()) fail("--", s->name, ": missing value");
        value = args[++i];
      }
    }
    auto& slot = values_[std::string(s->name)];
    if (!slot.empty() && !s->repeated) fail("--", s->name, " is given more than once");
    slot.push_back(std::move(value));
  }
}

const FlagSpec* Flags::find(std::string_view name) const {
  for (const FlagSpec& s : specs_)
    if (s.name == name) return &s;
  return nullptr;
}

// As Python's argparse, which TensorFlow's scripts use, reads a flag: by any beginning of its
// name that no other flag shares.
const FlagSpec& Flags::by_prefix(std::string_view name) const {
  std::vector<const FlagSpec*> matches;
  for (const FlagSpec& s : specs_)
    if (!name.empty() && s.name.starts_with(name)) matches.push_back(&s);
  if (matches.size() == 1) return *matches[0];
  if (matches.empty())
    fail("unknown flag '--", name, "' (poet ", command_, " --help lists the flags)");
  std::string candidates;
  for (const FlagSpec* s : matches)
    candidates += str_cat(candidates.empty() ? "" : ", ", "--", s->name);
  fail("ambiguous flag '--", name, "': it begins ", candidates, " (poet ", command_,
       " --help lists the flags)");
}

void Flags::expect_no_positional() const {
  if (positional_.empty()) return;
  const std::string& arg = positional_[0];
  // As in TensorFlow's flags, a boolean flag takes no separate value: "--x false" is "--x".
  const bool bool_value = arg == "true" || arg == "false" || arg == "True" || arg == "False";
  fail("unexpected argument '", arg, "'",
       bool_value ? "; a boolean flag takes its value after '=' (--name=false) or as --noname" : "",
       " (poet ", command_, " --help)");
}

const FlagSpec& Flags::spec(std::string_view name) const {
  if (const FlagSpec* s = find(name)) return *s;
  fail("internal: flag --", name, " is not declared for poet ", command_);
}

bool Flags::declares(std::string_view name) const { return find(name) != nullptr; }

bool Flags::given(std::string_view name) const {
  spec(name);
  return values_.count(name) > 0;
}

std::string Flags::str(std::string_view name) const {
  auto it = values_.find(name);
  return it != values_.end() ? it->second.back() : std::string(spec(name).default_value);
}

std::string Flags::required(std::string_view name) const {
  std::string v = str(name);
  if (v.empty()) fail("--", name, " is required (poet ", command_, " --help)");
  return v;
}

int64_t Flags::integer(std::string_view name) const {
  std::string v = str(name);
  int64_t out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size())
    fail("--", name, ": expected an integer, got '", v, "'");
  return out;
}

double Flags::number(std::string_view name) const {
  std::string v = str(name);
  const std::optional<double> out = parse_number(v);
  if (!out) fail("--", name, ": expected a decimal number, got '", v, "'");
  // "nan" and "inf" are numbers to strtod, and 1e999 is infinite; no flag means either.
  if (!std::isfinite(*out)) fail("--", name, ": expected a finite number, got '", v, "'");
  return *out;
}

bool Flags::boolean(std::string_view name) const { return parse_bool(name, str(name)); }

std::vector<std::string> Flags::all(std::string_view name) const {
  spec(name);
  auto it = values_.find(name);
  return it != values_.end() ? it->second : std::vector<std::string>{};
}

void Flags::print_usage() const {
  std::printf("usage: poet %s %s\n\nflags:\n", command_.c_str(), usage_.c_str());
  for (const FlagSpec& s : specs_) {
    std::string left = str_cat("  --", s.name, s.is_bool ? "" : " VALUE");
    std::printf("%-34s %.*s", left.c_str(), static_cast<int>(s.help.size()), s.help.data());
    if (!s.default_value.empty())
      std::printf(" (default: %.*s)", static_cast<int>(s.default_value.size()),
                  s.default_value.data());
    std::printf("\n");
  }
}

}  // namespace poet::cli
