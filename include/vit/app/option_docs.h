// What is made from the option table (vit/app/option_table.h) besides the completions: the
// CLI11 declarations with their help, and the man page (scripts/generate_docs.sh).
#pragma once

#include <string>

#include "vit/app/option_table.h"

namespace vit {

// "Help (default 5)": a row's help with its default, as --help and the man page show it.
std::string help_with_default(const OptionRow& row);

// Declares every row that `command` takes on `app`, writing into `c`.
void declare_options(CLI::App& app, Command command, CommandLine& c);

// The man page from its template's text (docs/vit-classify.1.in): @SYNOPSIS@, @COMMANDS@,
// @OPTIONS@ and @ENVIRONMENT@ replaced. Throws UsageError when one is missing.
std::string generate_man_page(const std::string& man_template);

}  // namespace vit
