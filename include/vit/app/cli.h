// The command line: `vit-classify [classify] IMAGES...` (the default), `explain IMAGE`,
// `eval DATASET`, `models` and `bench`, declared from the one option table (option_table.h).
// Parsing is testable without a process: run_cli takes the arguments
// and the streams, and leaves the process as it found it (logger, threads, signals).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace vit {

// Parses args (without the program name) and runs; results to out, logs to err; `in` is
// standard input for --files-from -. Returns the exit status (vit/app/exit_status.h).
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, std::istream* in = nullptr);

}  // namespace vit
