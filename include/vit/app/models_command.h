// `vit-classify models`: what the Hugging Face cache holds (vit/io/hub.h), one line or JSON
// object per repository; `--fetch ORG/NAME[@REV]` downloads into it first (as
// `huggingface-cli download` would), so that a later `-m ORG/NAME` runs offline.
#pragma once

#include <iosfwd>

#include "vit/app/options.h"

namespace vit {

// Returns the exit status; throws ModelError (exit 3) when a --fetch fails.
int run_models(const ModelsCommandOptions& o, std::ostream& out);

}  // namespace vit
