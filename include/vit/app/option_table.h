// The command line's one table (as llama.cpp's common/arg.cpp): every option of every subcommand
// is one row, and the CLI11 declarations, --help, the man page and the shell completions are all
// made from it, so a new option is one row here and nothing else.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "vit/app/options.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace vit {

// The subcommands, as bits of a row's `commands`.
enum Command : unsigned { kClassify = 1, kExplain = 2, kEval = 4, kModels = 8, kBench = 16 };
constexpr unsigned kRunsModel = kClassify | kExplain | kEval | kBench;
constexpr unsigned kAllCommands = kRunsModel | kModels;

struct CommandInfo {
  Command command;
  const char* name;         // as typed: "classify"
  const char* summary;      // one line, for the command list
  const char* description;  // the command's --help and man page paragraph ("" = the summary)
  const char* usage;        // what follows the options in the SYNOPSIS: "IMAGE..."
};
const std::vector<CommandInfo>& commands();  // in the order help and the docs list them

// Every option value of every subcommand, as parsed.
struct CommandLine {
  CommonOptions common;
  ClassifyCommandOptions classify;
  ExplainCommandOptions explain;
  EvalCommandOptions eval;
  ModelsCommandOptions models;
  BenchCommandOptions bench;
};

// What a shell offers for an option's value (or a positional argument).
enum class Completion { None, Choice, File, Dir, Model, Repo, ImageOrDir };

struct OptionRow {
  std::string names;  // CLI11 names: "-k,--top-k"; a positional has a plain name ("images")
  std::string hint;   // the value's placeholder ("N", "FILE"); "" for a flag
  std::string help;   // one sentence; never the default, which `shown_default` gives
  unsigned commands;  // the subcommands that take it (Command bits)
  // The default as the user sees it, read from a default-constructed CommandLine (so that it
  // is never typed twice); null when the help shows none. "" shows only `default_meaning`.
  std::function<std::string(const CommandLine&)> shown_default;
  std::string default_meaning;       // after the value: "0: one per core"
  std::string env;                   // an environment variable that gives the default, if any
  std::vector<std::string> choices;  // the words a Choice value takes (completion)
  Completion completion = Completion::None;
  bool hidden = false;  // declared, but in no help, man page or completion
  // Declares the option on `app` (the names, help and hint are set by the caller) with its
  // parser, writing into the CommandLine's field for `command`.
  std::function<CLI::Option*(CLI::App& app, const std::string& names, CommandLine& c, Command command)> declare;
};

// The table: the model's options, then each subcommand's, in help order.
const std::vector<OptionRow>& option_table();

}  // namespace vit
