// --resume: what an earlier run already wrote to the -o file, and whether this run's records
// would match it.
#pragma once

#include <set>
#include <string>

#include "vit/batch/records.h"

namespace vit {

struct Recorded {
  std::set<std::string> done;    // inputs with a record, keyed as record_key() keys them
  std::set<std::string> failed;  // those whose record is an error
  std::string header;            // CSV/TSV: the first line as written, without its newline
  std::set<std::string> models;  // JSON: the models of classified records (model_sha256, else model)
  std::set<size_t> widths;       // JSON: how many predictions classified records hold
};

// Reads the records in an output file of this format (JSON Lines, or CSV/TSV rows whose first
// columns are file and ok). A torn last line (a killed run) is cut off the file so that input
// is done again. A missing or empty file records nothing. Throws UsageError for text format or
// a file of another format, OutputError when it cannot be cut.
Recorded recorded_inputs(const std::string& path, RecordFormat format);

// Throws UsageError, saying what differs, unless records written now (this header; for JSON,
// this model's SHA-256 and number of predictions per record) match the ones in the file.
void check_resume_matches(const Recorded& r, const std::string& path, RecordFormat format, const std::string& header,
                          const std::string& model, size_t width);

}  // namespace vit
