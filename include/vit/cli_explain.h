// The `explain` subcommand: its options in a struct, one function that declares them on a
// CLI11 subcommand, one that runs them. Pictures and files are the library's (vit/explain.h).
#pragma once

#include <iosfwd>
#include <string>

#include "vit/cli.h"

namespace CLI {
class App;
}

namespace vit {

struct ExplainCliOptions {
  std::string out_dir;           // -o
  int layer = 0;                 // --layer, 1-based; 0 = the last
  int head = 1;                  // --head, 1-based
  std::string head_fusion = "mean";
  double discard_ratio = 0;
  bool force = false;
};

void declare_explain_options(CLI::App& sub, ExplainCliOptions& o);

// Explains common.inputs (exactly one image): pictures into o.out_dir, the top-k record on out
// (format common.format), logs through spdlog. Returns the exit status: 0 ok, 1 the image
// cannot be read or a file cannot be written, 2 usage, 3 the model cannot be loaded or
// cannot explain (TorchScript), 4 internal.
int run_explain_command(const CliOptions& common, const ExplainCliOptions& o, std::ostream& out);

}  // namespace vit
