// --resume: the inputs an earlier run already recorded in the -o file.
#pragma once

#include <set>
#include <string>

#include "vit/batch/records.h"

namespace vit {

// The inputs recorded in an output file of this format (JSON Lines "file" fields, or the
// first CSV/TSV column), keyed as record_key() keys them. A torn last line (a killed run) is
// cut off the file so that input is done again. A missing file records nothing. Throws
// UsageError for text format or a file of another format, OutputError when it cannot be cut.
std::set<std::string> recorded_inputs(const std::string& path, Format format);

}  // namespace vit
