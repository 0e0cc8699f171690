// `vit-classify [classify] IMAGES...`: the default subcommand. Inputs stream through the batch
// pipeline (vit/batch/pipeline.h) and one record per input goes to stdout or -o FILE.
#pragma once

#include <iosfwd>

#include "vit/app/options.h"

namespace vit {

// Returns the exit status (exit_status.h); throws the library's typed errors. `in` is
// standard input for --files-from -; err receives the progress bar and the summary line.
int run_classify(const CommonOptions& common, const ClassifyCommandOptions& o, std::ostream& out, std::ostream& err,
                 std::istream* in);

}  // namespace vit
