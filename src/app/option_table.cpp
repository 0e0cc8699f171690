// The one option table (see include/vit/app/option_table.h): one row per option, for every
// subcommand. Each row says its names, value hint, help, default (read from the structs'
// own initialisers), which subcommands take it, and how its value is parsed.
#include "vit/app/option_table.h"

#include <CLI/CLI.hpp>

#include "vit/app/command_rows.h"
#include "vit/app/option_rows.h"
#include "vit/errors.h"
#include "vit/explain/attention.h"
#include "vit/image/resample.h"
#include "vit/model/precision.h"

namespace vit {

namespace {

using namespace rows;

// Options every model-running subcommand takes (and models' shared -v, -q, --offline, --format).
void model_rows(std::vector<OptionRow>& t) {
  t.push_back(
      {"-m,--model",
       "MODEL",
       "Weights (.safetensors, .pth) or TorchScript file, a model folder, or a Hugging Face repository "
       "ORG/NAME[@REVISION]",
       kRunsModel,
       [](const CommandLine& c) { return c.common.model.model; },
       "$VIT_CLASSIFY_MODEL, else the first model in the model folders (see FILES in man vit-classify; -v says which)",
       "VIT_CLASSIFY_MODEL",
       {},
       Completion::Model,
       false,
       value<std::string>([](CommandLine& c, Command) -> std::string& { return c.common.model.model; })});
  t.push_back({"--offline",
               "",
               "Use the Hugging Face cache only, never the network (as HF_HUB_OFFLINE=1)",
               kAllCommands,
               nullptr,
               "",
               "",
               {},
               Completion::None,
               false,
               flag(offline_field)});
  t.push_back({"-k,--top-k",
               "N",
               "Classes to show per image (at most the model's classes; eval: the k of its top-k accuracy)",
               kClassify | kExplain | kEval,
               [](const CommandLine& c) { return std::to_string(c.common.output.top_k); },
               "",
               "",
               {},
               Completion::None,
               false,
               ranged<int>([](CommandLine& c, Command) -> int& { return c.common.output.top_k; }, 1, 1000000)});
  t.push_back({"--format", "NAME",
               "Records: " + choices(record_format_names()) +
                   " (json: one object per line; tsv: tab, newline, CR and backslash in a field written as \\t, "
                   "\\n, \\r and \\\\; explain: json also writes explain.json)",
               kClassify | kExplain,
               [](const CommandLine& c) { return std::string(name_of(record_format_names(), c.common.output.format)); },
               "", "", words(record_format_names()), Completion::Choice, false,
               named<RecordFormat>([](CommandLine& c, Command) -> RecordFormat& { return c.common.output.format; },
                                   record_format_names, "--format")});
  t.push_back({"--format", "NAME", "The figures on standard output: " + choices(report_format_names()),
               kEval | kModels | kBench,
               [](const CommandLine& c) { return std::string(name_of(report_format_names(), c.eval.format)); }, "", "",
               words(report_format_names()), Completion::Choice, false,
               named<ReportFormat>(report_format_field, report_format_names, "--format")});
  t.push_back(
      {"--digits",
       "N|full",
       "Decimals of each probability (and logit) in json, csv and tsv records, 1 to 17, or full: the "
       "shortest text that reads back as the very float the model computed; text output keeps 4",
       kClassify | kExplain | kEval,
       [](const CommandLine& c) { return std::to_string(c.common.output.detail.digits); },
       "",
       "",
       {},
       Completion::None,
       false,
       parsed<int>([](CommandLine& c, Command) -> int& { return c.common.output.detail.digits; }, parse_digits)});
  t.push_back({"--logits",
               "",
               "Also give each shown class's logit (the score before softmax): json \"logit\", csv/tsv columns "
               "logit_N",
               kClassify | kExplain | kEval,
               nullptr,
               "",
               "",
               {},
               Completion::None,
               false,
               flag([](CommandLine& c, Command) -> bool& { return c.common.output.detail.logits; })});
  preprocess_rows(t);
  t.push_back({"--labels",
               "FILE",
               "Class names, one per line (replaces the model's own or ImageNet-1k's)",
               kRunsModel,
               nullptr,
               "",
               "",
               {},
               Completion::File,
               false,
               value<std::string>([](CommandLine& c, Command) -> std::string& { return c.common.model.labels_path; },
                                  [](CLI::Option* o) { o->check(CLI::ExistingFile.description("")); })});
  t.push_back(
      {"--device",
       "DEVICE",
       "Where to run (auto: CUDA device 0 if there is one): auto, cpu, cuda or cuda:N",
       kRunsModel,
       [](const CommandLine&) { return std::string("auto"); },
       "",
       "",
       {"auto", "cpu", "cuda", "cuda:0", "cuda:1"},
       Completion::Choice,
       false,
       parsed<DeviceSpec>([](CommandLine& c, Command) -> DeviceSpec& { return c.common.model.device; }, parse_device)});
  t.push_back({"--threads",
               "N",
               "Math threads",
               kRunsModel,
               [](const CommandLine& c) { return std::to_string(c.common.model.threads); },
               "one per core",
               "",
               {},
               Completion::None,
               false,
               ranged<int>([](CommandLine& c, Command) -> int& { return c.common.model.threads; }, 0, 4 * cores())});
  t.push_back(
      {"--precision", "NAME",
       "Arithmetic of the linear layers (bf16 and int8: faster, approximate, CPU only): " + choices(precision_names()),
       kRunsModel,
       [](const CommandLine& c) { return std::string(name_of(precision_names(), c.common.model.precision)); }, "", "",
       words(precision_names()), Completion::Choice, false,
       named<Precision>([](CommandLine& c, Command) -> Precision& { return c.common.model.precision; }, precision_names,
                        "--precision")});
  t.push_back({"--heads",
               "N",
               "Attention heads, only for weights of unusual width without a config.json",
               kRunsModel,
               nullptr,
               "",
               "",
               {},
               Completion::None,
               false,
               ranged<int>([](CommandLine& c, Command) -> int& { return c.common.model.heads; }, 1, 4096)});
  t.push_back({"--image-size",
               "N",
               "Run the model at N x N pixels, its position embeddings resampled as its library does",
               kRunsModel,
               [](const CommandLine&) { return std::string(); },
               "the model's own size",
               "",
               {},
               Completion::None,
               false,
               ranged<int>([](CommandLine& c, Command) -> int& { return c.common.model.image_size; }, 1, 16384)});
  t.push_back({"--max-pixels",
               "N",
               "Refuse images whose header says they are larger, before decoding",
               kRunsModel,
               [](const CommandLine& c) { return std::to_string(c.common.max_pixels); },
               "",
               "",
               {},
               Completion::None,
               false,
               ranged<uint64_t>([](CommandLine& c, Command) -> uint64_t& { return c.common.max_pixels; }, 1,
                                uint64_t{1} << 31)});
  t.push_back({"-v,--verbose",
               "",
               "More logs on stderr (-vv for debug)",
               kAllCommands,
               nullptr,
               "",
               "",
               {},
               Completion::None,
               false,
               count([](CommandLine& c, Command k) -> int& { return log_field(c, k).verbose; })});
  t.push_back({"-q,--quiet",
               "",
               "Only errors on stderr (no progress, no summary)",
               kAllCommands,
               nullptr,
               "",
               "",
               {},
               Completion::None,
               false,
               flag([](CommandLine& c, Command k) -> bool& { return log_field(c, k).quiet; })});
}

}  // namespace

const std::vector<CommandInfo>& commands() {
  static const std::vector<CommandInfo> list{
      {kClassify, "classify", "Classify images (the default command)",
       "Classify images: the default command, so the word may be left out.", "IMAGE..."},
      {kExplain, "explain", "Pictures of what the model looks at for one image",
       "Pictures of what the model looks at for one image: patches, position embeddings, attention per head, "
       "attention rollout and the prediction, with an index.html.",
       "IMAGE"},
      {kEval, "eval", "Accuracy on a labelled set (ImageFolder or CSV/TSV)",
       "Top-1 and top-k accuracy (k from -k) with 95% confidence intervals, images/s, the worst classes and the "
       "most frequent confusions on a labelled set: an ImageFolder directory (one subfolder per class, named by "
       "WordNet id, class index or label) or a .csv/.tsv list of file,label.",
       "DATASET"},
      {kModels, "models", "List (and --fetch) the models in the Hugging Face cache", "", ""},
      {kBench, "bench", "Time the model's forward pass per batch size (p50/p90, images/s)", "", ""},
  };
  return list;
}

const std::vector<OptionRow>& option_table() {
  static const std::vector<OptionRow> table = [] {
    std::vector<OptionRow> t;
    model_rows(t);
    rows::command_rows(t);
    return t;
  }();
  return table;
}

}  // namespace vit
