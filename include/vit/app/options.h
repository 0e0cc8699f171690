// The command line as typed values: one struct per group of options, and the parsers of the
// values that are not plain numbers. The options themselves are declared from the one table
// in vit/app/option_table.h. Every value is checked while parsing, before anything is loaded;
// a bad one is a CLI11 parse error (exit 2) naming the option.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vit/batch/inputs.h"
#include "vit/batch/records.h"
#include "vit/explain/attention.h"
#include "vit/image/preprocess.h"
#include "vit/model/engine.h"

namespace vit {

// The model, where it runs, and how its input is made (every subcommand that runs a model).
struct ModelOptions {
  std::string model;     // -m: a file, a model folder or ORG/NAME[@REV]; "" = $VIT_CLASSIFY_MODEL, else models/
  bool offline = false;  // --offline: Hugging Face repositories from the cache only
  DeviceSpec device;
  int threads = 0;                        // math threads; 0 = one per core
  int heads = 0;                          // --heads; 0 = from config.json or the width
  int image_size = 0;                     // --image-size; 0 = the model's own
  Precision precision = Precision::Fp32;  // --precision
  bool deterministic = false;             // --deterministic: batch-invariant products (EngineOptions)
  std::string labels;                     // --labels: a CLIP model's labels "a,b,c", or a file as labels_file
  std::string labels_file;                // --labels-file: one per line
  std::vector<std::string> templates;     // --template (CLIP)
  std::string tokenizer;                  // --tokenizer (CLIP)
  PreprocessOverrides preprocess;
};

struct OutputOptions {
  RecordFormat format = RecordFormat::Text;  // classify's records, explain's one record
  int top_k = 5;                             // capped at the model's classes once it is loaded
  RecordDetail detail;                       // --digits, --logits
};

struct LogOptions {
  int verbose = 0;
  bool quiet = false;
};

// Options every model-running subcommand takes.
struct CommonOptions {
  ModelOptions model;
  OutputOptions output;
  LogOptions log;
  uint64_t max_pixels = 100'000'000;  // --max-pixels: larger images are refused undecoded
};

enum class ProgressMode { Auto, Always, Never };  // Auto: when stderr is a terminal

struct ClassifyCommandOptions {
  std::vector<std::string> inputs;
  bool recursive = false;
  std::string files_from;  // "" = none, "-" = standard input
  bool null_separated = false;
  std::vector<std::string> extensions;  // empty = every type OpenCV reads
  bool hidden = false;
  Shard shard;
  std::string output;  // -o; "" = standard output
  bool force = false;  // replace an existing -o file
  bool resume = false;
  bool retry_failed = false;  // --resume also redoes the inputs whose record is an error
  int batch_size = 8;
  int workers = 0;  // 0 = one per math thread when there are several inputs
  bool fast_decode = false;
  ProgressMode progress = ProgressMode::Auto;
};

struct ExplainCommandOptions {
  std::vector<std::string> images;  // exactly one
  std::string out_dir;
  std::optional<int> layer;  // 1-based; none = the last
  int head = 1;              // 1-based
  HeadFusion fusion = HeadFusion::Mean;
  HeadScale head_scale = HeadScale::Panel;
  double discard_ratio = 0;
  bool force = false;
};

// `vit-classify eval DATASET`: accuracy on a labelled set through classify's pipeline.
struct EvalCommandOptions {
  std::string dataset;                         // an ImageFolder directory or a .csv/.tsv list
  ClassifyCommandOptions job;                  // -o (the per-image records), --force, --resume, --batch-size, ...
  ReportFormat format = ReportFormat::Text;    // the figures on standard output
  std::optional<RecordFormat> records_format;  // --records-format; none = from -o's extension, else json
  int worst = 10;                              // classes listed as the worst
  int confusions = 10;                         // confusions listed
};

// `vit-classify models`: the Hugging Face cache's models; --fetch downloads into it.
struct ModelsCommandOptions {
  std::vector<std::string> fetch;            // ORG/NAME[@REVISION]
  ReportFormat format = ReportFormat::Text;  // the listing
  bool offline = false;
  LogOptions log;
};

// `vit-classify bench`: the forward pass timed per batch size.
struct BenchCommandOptions {
  ReportFormat format = ReportFormat::Text;
  std::vector<int> batch_sizes{1, 8};
  int warmup = 2;        // untimed batches first, per batch size
  int iterations = 0;    // timed batches per batch size; 0 = as many as fit in `seconds` (at least 5)
  double seconds = 3.0;  // time per batch size when iterations is 0
  std::string image;     // a photo preprocessed as the model's input; "" = random normal values
};

// Checks that involve several options of classify (each throws UsageError).
void check_classify_options(const ClassifyCommandOptions& o, const CommonOptions& common);

// Parsers of option values; each throws UsageError naming `what`.
int parse_count(const std::string& s, const std::string& what);  // a whole number 1 to 1000000
std::array<float, 3> parse_triple(const std::vector<std::string>& parts, const std::string& what);  // R,G,B or one
ResizeSpec parse_resize(const std::string& s);                                                      // N, WxH or none
int parse_crop(const std::string& s);                                                               // N or none (0)
Shard parse_shard(const std::string& s);                                                            // K/N, 1-based
DeviceSpec parse_device(const std::string& s);                                     // auto, cpu, cuda, cuda:N
std::vector<std::string> parse_extensions(const std::vector<std::string>& items);  // {"jpg", ".PNG"} -> {jpg, png}
int parse_digits(const std::string& s);  // --digits: N decimals (1 to 17), or full (0)

}  // namespace vit
