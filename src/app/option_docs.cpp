// What is made from the option table: the CLI11 declarations with their help, the man page's
// option sections and SYNOPSIS, and the bash and zsh completions (scripts/generate_docs.sh).
#include "vit/app/option_docs.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <sstream>

#include "vit/app/option_table.h"
#include "vit/errors.h"

namespace vit {

std::string help_with_default(const OptionRow& row) {
  std::string help = row.help;
  if (row.shown_default) {
    static const CommandLine defaults{};
    const std::string value = row.shown_default(defaults);
    if (value.empty())
      help += " (default: " + row.default_meaning + ")";
    else
      help += " (default " + value + (row.default_meaning.empty() ? "" : ": " + row.default_meaning) + ")";
  }
  return help;
}

void declare_options(CLI::App& app, Command command, CommandLine& c) {
  for (const OptionRow& row : option_table()) {
    if (!(row.commands & command)) continue;
    CLI::Option* o = row.declare(app, row.names, c, command);
    o->description(help_with_default(row));
    if (!row.hint.empty() && row.names[0] == '-') o->type_name(row.hint);
    if (row.hidden) o->group("");
  }
}

namespace {

bool positional(const OptionRow& row) { return row.names[0] != '-'; }

std::vector<std::string> split_names(const std::string& names) {
  std::vector<std::string> out;
  std::stringstream in(names);
  for (std::string n; std::getline(in, n, ',');) out.push_back(n);
  return out;
}

std::vector<const OptionRow*> rows_of(Command k, bool positionals) {
  std::vector<const OptionRow*> out;
  for (const OptionRow& row : option_table())
    if ((row.commands & k) && !row.hidden && positional(row) == positionals) out.push_back(&row);
  return out;
}

// roff: a backslash and a leading dot or quote must not be read as requests.
std::string roff(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '\\')
      out += "\\e";
    else if (ch == '-')
      out += "\\-";
    else
      out += ch;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out = "\\&" + out;
  return out;
}

// A help text as one roff sentence: escaped, with its full stop.
std::string sentence(const std::string& text) {
  return roff(text) + (!text.empty() && text.back() == '.' ? "" : ".") + "\n";
}

std::string man_option(const OptionRow& row) {
  std::string head;
  for (const auto& n : split_names(row.names))
    head += (head.empty() ? "" : ", ") + std::string("\\fB") + roff(n) + "\\fR";
  if (!row.hint.empty()) head += " \\fI" + roff(row.hint) + "\\fR";
  std::string out = ".TP\n" + head + "\n" + sentence(help_with_default(row));
  if (!row.env.empty()) out += "Environment: \\fB" + row.env + "\\fR.\n";
  return out;
}

// Which commands take a row, in words: "classify, explain, eval and bench".
std::string taken_by(unsigned mask) {
  std::vector<std::string> names;
  for (const auto& c : commands())
    if (mask & c.command) names.push_back(c.name);
  std::string s;
  for (size_t i = 0; i < names.size(); ++i)
    s += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + ("\\fB" + names[i] + "\\fR");
  return s;
}

std::string man_synopsis() {
  std::string s;
  for (const auto& c : commands()) {
    s += ".SY vit\\-classify\n";
    s += c.command == kClassify ? ".RB [ classify ]\n" : ".B " + std::string(c.name) + "\n";
    s += ".RI [ options ]\n";
    if (*c.usage) s += std::string(".I ") + c.usage + "\n";
    s += ".YS\n";
  }
  s += ".SY vit\\-classify\n.B help\n.RI [ command ]\n.YS\n.SY vit\\-classify\n.B \\-\\-version\n.YS\n";
  return s;
}

std::string man_commands() {
  std::string s;
  for (const auto& c : commands())
    s += std::string(".TP\n.B ") + c.name + (*c.usage ? std::string(" \\fI") + c.usage + "\\fR" : "") + "\n" +
         sentence(*c.description ? c.description : c.summary);
  return s;
}

// One section per group: the rows most subcommands share, then each subcommand's own.
std::string man_options() {
  std::string s = ".SH COMMON OPTIONS\nEach option below says which commands take it.\n";
  const unsigned shared = kRunsModel;
  for (const OptionRow& row : option_table())
    if (!row.hidden && !positional(row) && (row.commands & shared) == shared)
      s += man_option(row) + "Taken by " + taken_by(row.commands) + ".\n";
  for (const auto& c : commands()) {
    s += ".SH " + [&] {
      std::string up = c.name;
      std::transform(up.begin(), up.end(), up.begin(), [](unsigned char ch) { return std::toupper(ch); });
      return up;
    }() + " OPTIONS\n";
    for (const OptionRow* row : rows_of(c.command, true))
      s += ".TP\n\\fI" + roff(row->hint) + "\\fR\n" + sentence(help_with_default(*row));
    for (const OptionRow* row : rows_of(c.command, false))
      if ((row->commands & shared) != shared) {
        s += man_option(*row);
        if (row->commands != static_cast<unsigned>(c.command)) s += "Taken by " + taken_by(row->commands) + ".\n";
      }
  }
  return s;
}

std::string man_environment() {
  std::string s;
  for (const OptionRow& row : option_table())
    if (!row.env.empty())
      s += ".TP\n.B " + row.env + "\nThe default of \\fB" + roff(split_names(row.names).back()) + "\\fR.\n";
  return s;
}

void replace(std::string& text, const std::string& key, const std::string& by) {
  const size_t at = text.find(key);
  if (at == std::string::npos) throw UsageError("--generate-docs man: the template has no " + key);
  text.replace(at, key.size(), by);
}

}  // namespace

std::string generate_man_page(const std::string& man_template) {
  std::string page = man_template;
  replace(page, "@SYNOPSIS@\n", man_synopsis());
  replace(page, "@COMMANDS@\n", man_commands());
  replace(page, "@OPTIONS@\n", man_options());
  replace(page, "@ENVIRONMENT@\n", man_environment());
  return page;
}

}  // namespace vit
