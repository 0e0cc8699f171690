// The command-line front end: options in a struct, one function that declares them, one that
// runs them, and one mapping from errors to exit statuses. Parsing is testable without a
// process (run_cli takes the arguments and the streams).
#pragma once

#include <iosfwd>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "vit/engine.h"
#include "vit/labels.h"
#include "vit/preprocess.h"

namespace CLI {
class App;
}

namespace vit {

// Documented in README.md and --help.
enum class ExitCode : int {
  Ok = 0,           // every input classified
  SomeFailed = 1,   // some inputs failed (others done)
  Usage = 2,        // bad command line
  ModelLoad = 3,    // the model could not be loaded (file, format, or device unavailable)
  Internal = 4,     // anything unexpected
  Interrupted = 130,  // SIGINT/SIGTERM: the batches in flight were written, then it stopped
};

struct CliOptions {
  // model and device
  std::string model;  // -m; default $VIT_CLASSIFY_MODEL, else models/
  std::string device = "auto";
  int threads = 0;
  int heads = 0;
  std::string labels_path;
  // preprocessing
  std::string preset = "auto";
  std::string resize, crop, interpolation, mean, std;
  // classify: inputs
  std::vector<std::string> inputs;
  bool recursive = false;
  std::string files_from;
  bool null_separated = false;
  std::string extensions;
  bool hidden = false;
  std::string shard;
  // classify: output and pipeline
  int top_k = 5;
  std::string format = "text";
  std::string output;  // -o; "" = stdout
  bool resume = false;
  int batch_size = 8;
  int workers = 0;     // 0 = auto
  bool fast_decode = false;
  bool progress = false, no_progress = false;
  // logging
  int verbose = 0;
  bool quiet = false;
};

// Options every command takes (inputs, model, preprocessing, output format, logs).
void declare_options(CLI::App& app, CliOptions& o);

// Call inside a catch block: logs the exception in flight and returns its exit status
// (UsageError 2, ModelError/DeviceError 3, ImageError/OutputError 1, anything else 4).
int exit_status_for_current_exception();
// Options of classify only (inputs from folders and lists, -o, --resume, pipeline).
void declare_classify_options(CLI::App& app, CliOptions& o);

// Parses args (without the program name) and runs; results to out, logs to err; `in` is
// standard input for --files-from -.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, std::istream* in = nullptr);

// The inputs already recorded in an output file of this format (JSON Lines "file" fields,
// or the first CSV/TSV column), keyed as record_key() keys them. A torn last line (a killed
// run) is cut off the file so that input is done again. Throws UsageError for text format.
std::set<std::string> recorded_inputs(const std::string& path, const std::string& format);
// How a path appears in a record of this format (JSON replaces invalid UTF-8, TSV tabs).
std::string record_key(const std::string& path, const std::string& format);

// Engine options (model path resolved, device, threads, heads) from the command line.
EngineOptions engine_options(const CliOptions& o);
// The preset (auto = the model's own) with the user's overrides applied. Throws UsageError.
PreprocessConfig resolve_preprocess(const CliOptions& o, const ModelInfo& info);
// --labels, else the model's config.json labels, else ImageNet-1k; warns on a count mismatch.
Labels choose_labels(const std::optional<Labels>& user, const ModelInfo& info);

// Finds the model to use when -m is not given: $VIT_CLASSIFY_MODEL, else the one in models/
// (beside the working directory, the executable, or the source tree). Throws UsageError.
std::string default_model_path();

}  // namespace vit
