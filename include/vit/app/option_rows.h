// The makers of option_table()'s rows: each turns "this field of the CommandLine, parsed this
// way" into a row's declare function (used by src/app/*_rows.cpp and option_table.cpp).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "vit/app/option_table.h"
#include "vit/errors.h"
#include "vit/vocabulary.h"

namespace vit::rows {

// The field a row writes, for the subcommand being declared (a row shared by subcommands
// writes each one's own field).
template <class T>
using Field = std::function<T&(CommandLine&, Command)>;
using Declare = std::function<CLI::Option*(CLI::App&, const std::string&, CommandLine&, Command)>;

int cores();
template <class E>
std::vector<std::string> words(const Vocabulary<E>& v) {
  std::vector<std::string> out;
  for (const auto& w : v) out.emplace_back(w.name);
  return out;
}

// The fields of the rows that several subcommands share.
ClassifyCommandOptions& job_field(CommandLine& c, Command k);  // classify's, or eval's job
LogOptions& log_field(CommandLine& c, Command k);
bool& offline_field(CommandLine& c, Command k);
ReportFormat& report_format_field(CommandLine& c, Command k);

// A plain CLI11 value, with an optional refinement (a check).
template <class T>
Declare value(Field<T> field, std::function<void(CLI::Option*)> refine = nullptr) {
  return [field, refine](CLI::App& app, const std::string& names, CommandLine& c, Command k) {
    CLI::Option* o = app.add_option(names, field(c, k));
    if (refine) refine(o);
    return o;
  };
}

// A number in [lo, hi]; CLI11's message names the option and the range.
template <class T>
Declare ranged(Field<T> field, T lo, T hi) {
  return value<T>(field, [lo, hi](CLI::Option* o) { o->check(CLI::Range(lo, hi).description("")); });
}

inline Declare flag(Field<bool> field) {
  return [field](CLI::App& app, const std::string& names, CommandLine& c, Command k) {
    return app.add_flag(names, field(c, k));
  };
}

// A flag counted each time it is given (-vv).
inline Declare count(Field<int> field) {
  return [field](CLI::App& app, const std::string& names, CommandLine& c, Command k) {
    return app.add_flag(names, field(c, k));
  };
}

// Text that `parse` turns into the field's type; a UsageError becomes CLI11's parse error, so a
// bad value stops the command line (exit 2) before anything loads.
template <class T>
Declare parsed(Field<T> field, std::function<T(const std::string&)> parse) {
  return [field, parse](CLI::App& app, const std::string& names, CommandLine& c, Command k) {
    T& target = field(c, k);
    return app.add_option_function<std::string>(names, [&target, parse](const std::string& s) {
      try {
        target = parse(s);
      } catch (const UsageError& e) {
        throw CLI::ValidationError(e.what());
      }
    });
  };
}

// "a,b,c" as {"a", "b", "c"} (",": two empty items; "": none).
std::vector<std::string> comma_items(const std::string& s);

// A comma-separated list that `parse` turns into the field's type. Split here rather than by
// CLI11's delimiter(','), which (2.1.2) drops empty items and then takes the next argument as
// the list: `--ext , a.jpg` would read a.jpg as the extension instead of refusing ','.
template <class T>
Declare parsed_list(Field<T> field, std::function<T(const std::vector<std::string>&)> parse) {
  return parsed<T>(field, [parse](const std::string& s) { return parse(comma_items(s)); });
}

// One word of a vocabulary, in any case.
template <class E>
Declare named(Field<E> field, const Vocabulary<E>& (*vocabulary)(), std::string what) {
  return parsed<E>(field, [vocabulary, what](const std::string& s) { return parse_named(vocabulary(), s, what); });
}

void preprocess_rows(std::vector<OptionRow>& t);  // --preset ... --std

}  // namespace vit::rows
