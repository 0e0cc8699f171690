// The exit statuses of every subcommand, and the one mapping from the library's typed errors
// to them. README.md's table and --help are written from (and tested against) this table.
#pragma once

#include <string>
#include <vector>

namespace vit {

enum class ExitCode : int {
  Ok = 0,             // every input classified (explain: the pictures were written)
  SomeFailed = 1,     // some inputs failed (the others were done)
  Usage = 2,          // bad command line
  ModelLoad = 3,      // the model could not be loaded (file, format, or device unavailable)
  Internal = 4,       // anything unexpected
  OutputFailed = 5,   // results could not be written (-o file or folder, disk full, closed stdout)
  Interrupted = 130,  // SIGINT/SIGTERM: the batches in flight were written, then it stopped
};

struct ExitStatusDoc {
  ExitCode code;
  const char* meaning;
};
// Every status with its meaning, in order.
const std::vector<ExitStatusDoc>& exit_status_docs();
// The "Exit status:" section of --help.
std::string exit_status_help();

// Call inside a catch block: logs the exception in flight (spdlog) and returns its status:
// UsageError 2, ModelError/DeviceError 3, ImageError 1, OutputError 5, anything else 4.
int exit_status_for_current_exception();

}  // namespace vit
