// The makers of option_table()'s rows: Row, which sets only a row's non-default fields, and the
// declare functions, each "this field of the CommandLine, parsed this way" (used by src/app/*_rows.cpp).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <utility>
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

// A row from the fields it sets; the rest keep OptionRow's defaults (no shown default, no
// choices, no completion, not hidden):
//   Row("--worst", "N", kEval, "Classes listed as the worst", ranged<int>(...)).shows(...)
class Row {
 public:
  using Shown = std::function<std::string(const CommandLine&)>;
  Row(std::string names, std::string hint, unsigned commands, std::string help, Declare declare) {
    row_.names = std::move(names);
    row_.hint = std::move(hint);
    row_.commands = commands;
    row_.help = std::move(help);
    row_.declare = std::move(declare);
  }
  // The default read from a default CommandLine, then what it means ("0: one per core").
  Row& shows(Shown shown, std::string meaning = "") {
    row_.shown_default = std::move(shown);
    row_.default_meaning = std::move(meaning);
    return *this;
  }
  // A default with no value of its own, only words ("the model's own size").
  Row& shows_meaning(std::string meaning) {
    return shows([](const CommandLine&) { return std::string(); }, std::move(meaning));
  }
  // A default that is a fixed word ("auto").
  Row& shows_word(std::string word) {
    return shows([word](const CommandLine&) { return word; });
  }
  Row& env(std::string name) {
    row_.env = std::move(name);
    return *this;
  }
  Row& completes(Completion completion) {
    row_.completion = completion;
    return *this;
  }
  Row& choices(std::vector<std::string> words) {
    row_.choices = std::move(words);
    return completes(Completion::Choice);
  }
  operator OptionRow() const { return row_; }  // NOLINT(google-explicit-constructor): push_back(Row(...))

 private:
  OptionRow row_;
};

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

// A flag that sets the field to `v` when given (--progress, --no-progress).
template <class T>
Declare sets(Field<T> field, T v) {
  return [field, v](CLI::App& app, const std::string& names, CommandLine& c, Command k) {
    T& target = field(c, k);
    return app.add_flag_callback(names, [&target, v] { target = v; });
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
