// Command-line flags in TensorFlow's style: --name=value or --name value; boolean flags as
// --name, --name=true|false or --noname. As in argparse, a flag may be shortened to a
// beginning of its name no other flag shares (--how_many 10); --noname takes the whole name
// (argparse has no such form). Every flag a command accepts is
// declared with a default and a help line, so unknown or malformed flags are errors that name
// the flag.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"

namespace poet::cli {

// A number in decimal, as strtod reads it but for hexadecimal ("0x1", "0x1p3") and leading
// spaces, which no flag means: "3", "-0.5", "+2", "1e-3"; also "inf" and "nan", for the caller
// to refuse by name, and 1e999, which is infinite. Nothing for anything else.
std::optional<double> parse_number(std::string_view text);

struct FlagSpec {
  std::string_view name;
  std::string_view default_value;  // "" for none
  std::string_view help;
  bool is_bool = false;
  bool repeated = false;  // may be given several times (--feed a --feed b)
};

class Flags {
 public:
  // Parses args against specs. --help prints usage and sets help_requested().
  Flags(std::string_view command, std::string_view usage, std::vector<FlagSpec> specs, Args args);

  bool help_requested() const { return help_; }
  bool given(std::string_view name) const;
  // Whether the command has the flag --`name` at all.
  bool declares(std::string_view name) const;
  std::string str(std::string_view name) const;
  // Errors name the flag: "--top_k: expected an integer, got 'x'".
  int64_t integer(std::string_view name) const;
  double number(std::string_view name) const;
  bool boolean(std::string_view name) const;
  std::vector<std::string> all(std::string_view name) const;  // every value of a repeated flag
  const std::vector<std::string>& positional() const { return positional_; }
  // For commands that take only flags: fails naming the first positional argument.
  void expect_no_positional() const;
  // The value of a flag that must be given.
  std::string required(std::string_view name) const;

  void print_usage() const;

 private:
  const FlagSpec& spec(std::string_view name) const;
  const FlagSpec* find(std::string_view name) const;  // by its whole name; null if none
  // The one flag whose name begins with `name`; fails if none or several do.
  const FlagSpec& by_prefix(std::string_view name) const;

  std::string command_, usage_;
  std::vector<FlagSpec> specs_;
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

}  // namespace poet::cli
