// `vit-classify explain IMAGE -o DIR`: pictures of what the model looks at for one image
// (the pictures and files are the library's: vit/explain/report.h), and the top-k record
// on stdout.
#pragma once

#include <iosfwd>
#include <string>

#include "vit/app/options.h"

namespace vit {

// The footer of `explain --help`: the files it writes.
const char* explain_help_footer();

// Returns the exit status (exit_status.h); throws the library's typed errors. The top-k record
// goes to out, where the page is to err (unless -q).
int run_explain_command(const CommonOptions& common, const ExplainCommandOptions& o, std::ostream& out,
                        std::ostream& err);

// The folder explain writes into when -o is not given: "photos/cat.jpg" -> "cat-explained".
std::string default_explain_folder(const std::string& image);

}  // namespace vit
