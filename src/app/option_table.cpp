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
  t.push_back(Row("-m,--model", "MODEL", kRunsModel,
                  "Weights (.safetensors, .pth) or TorchScript file, a model folder, or a Hugging Face repository "
                  "ORG/NAME[@REVISION]",
                  value<std::string>([](CommandLine& c, Command) -> std::string& { return c.common.model.model; }))
                  .shows([](const CommandLine& c) { return c.common.model.model; },
                         "$VIT_CLASSIFY_MODEL, else the first model in the model folders (see FILES in man "
                         "vit-classify; -v says which)")
                  .env("VIT_CLASSIFY_MODEL")
                  .completes(Completion::Model));
  t.push_back(Row("--offline", "", kAllCommands,
                  "Use the Hugging Face cache only, never the network (as HF_HUB_OFFLINE=1)", flag(offline_field)));
  t.push_back(Row("-k,--top-k", "N", kClassify | kExplain | kEval,
                  "Classes to show per image (at most the model's classes; eval: the k of its top-k accuracy)",
                  ranged<int>([](CommandLine& c, Command) -> int& { return c.common.output.top_k; }, 1, 1000000))
                  .shows([](const CommandLine& c) { return std::to_string(c.common.output.top_k); }));
  t.push_back(Row("--format", "NAME", kClassify | kExplain,
                  "Records: " + choices(record_format_names()) +
                      " (json: one object per line; tsv: tab, newline, CR and backslash in a field written as \\t, "
                      "\\n, \\r and \\\\; explain: json also writes explain.json)",
                  named<RecordFormat>([](CommandLine& c, Command) -> RecordFormat& { return c.common.output.format; },
                                      record_format_names, "--format"))
                  .shows([](const CommandLine& c) {
                    return std::string(name_of(record_format_names(), c.common.output.format));
                  })
                  .choices(words(record_format_names())));
  t.push_back(
      Row("--format", "NAME", kEval | kModels | kBench,
          "The figures on standard output: " + choices(report_format_names()),
          named<ReportFormat>(report_format_field, report_format_names, "--format"))
          .shows([](const CommandLine& c) { return std::string(name_of(report_format_names(), c.eval.format)); })
          .choices(words(report_format_names())));
  t.push_back(
      Row("--digits", "N|full", kClassify | kExplain | kEval,
          "Decimals of each probability (and logit) in json, csv and tsv records, 1 to 17, or full: the "
          "shortest text that reads back as the very float the model computed; text output keeps 4",
          parsed<int>([](CommandLine& c, Command) -> int& { return c.common.output.detail.digits; }, parse_digits))
          .shows([](const CommandLine& c) { return std::to_string(c.common.output.detail.digits); }));
  t.push_back(Row("--logits", "", kClassify | kExplain | kEval,
                  "Also give each shown class's logit (the score before softmax): json \"logit\", csv/tsv columns "
                  "logit_N",
                  flag([](CommandLine& c, Command) -> bool& { return c.common.output.detail.logits; })));
  preprocess_rows(t);
  t.push_back(Row("--labels", "LIST|FILE", kRunsModel,
                  "CLIP models: the labels to classify into, comma-separated (\"cat,dog,a red car\"; without "
                  "labels a CLIP model classifies into ImageNet-1k with OpenAI's 80 prompts). A value that names a "
                  "file is read as --labels-file",
                  value<std::string>([](CommandLine& c, Command) -> std::string& { return c.common.model.labels; }))
                  .completes(Completion::File));
  t.push_back(Row("--labels-file", "FILE", kRunsModel,
                  "Labels one per line (UTF-8): a CLIP model's labels to classify into, another model's class names "
                  "(replacing its own or ImageNet-1k's)",
                  value<std::string>([](CommandLine& c, Command) -> std::string& { return c.common.model.labels_file; },
                                     [](CLI::Option* o) { o->check(CLI::ExistingFile.description("")); }))
                  .completes(Completion::File));
  t.push_back(
      Row("--template", "TEXT", kRunsModel,
          "CLIP models: a prompt with {} for the label ('a photo of a {}.'); repeat it to average the "
          "prompts' embeddings per label, as open_clip does",
          value<std::vector<std::string>>(
              [](CommandLine& c, Command) -> std::vector<std::string>& { return c.common.model.templates; },
              [](CLI::Option* o) { o->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll); }))
          .shows_meaning("{}, the label as written; ImageNet's: OpenAI's 80"));
  t.push_back(Row("--tokenizer", "FILE", kRunsModel,
                  "CLIP models: the BPE merges (open_clip's bpe_simple_vocab_16e6.txt.gz, or a vocab.json with "
                  "merges.txt beside it), when the model has none beside it",
                  value<std::string>([](CommandLine& c, Command) -> std::string& { return c.common.model.tokenizer; },
                                     [](CLI::Option* o) { o->check(CLI::ExistingPath.description("")); }))
                  .env("VIT_CLASSIFY_TOKENIZER")
                  .completes(Completion::File));
  t.push_back(Row("--device", "DEVICE", kRunsModel,
                  "Where to run (auto: CUDA device 0 if there is one): auto, cpu, cuda or cuda:N",
                  parsed<DeviceSpec>([](CommandLine& c, Command) -> DeviceSpec& { return c.common.model.device; },
                                     parse_device))
                  .shows_word("auto")
                  .choices({"auto", "cpu", "cuda", "cuda:0", "cuda:1"}));
  t.push_back(Row("--threads", "N", kRunsModel, "Math threads",
                  ranged<int>([](CommandLine& c, Command) -> int& { return c.common.model.threads; }, 0, 4 * cores()))
                  .shows([](const CommandLine& c) { return std::to_string(c.common.model.threads); }, "one per core"));
  t.push_back(
      Row("--precision", "NAME", kRunsModel,
          "Arithmetic of the linear layers (bf16 and int8: faster, approximate, CPU only): " +
              choices(precision_names()),
          named<Precision>([](CommandLine& c, Command) -> Precision& { return c.common.model.precision; },
                           precision_names, "--precision"))
          .shows([](const CommandLine& c) { return std::string(name_of(precision_names(), c.common.model.precision)); })
          .choices(words(precision_names())));
  t.push_back(Row("--deterministic", "", kRunsModel,
                  "Each image's numbers the same bits whatever batch, shard, resume or thread count it ran in "
                  "(one product per image; fp32 ViT-B/16 batch 8 ~20% slower on AVX2)",
                  flag([](CommandLine& c, Command) -> bool& { return c.common.model.deterministic; })));
  t.push_back(Row("--heads", "N", kRunsModel,
                  "Attention heads, only for weights of unusual width without a config.json",
                  ranged<int>([](CommandLine& c, Command) -> int& { return c.common.model.heads; }, 1, 4096)));
  t.push_back(Row("--image-size", "N", kRunsModel,
                  "Run the model at N x N pixels, its position embeddings resampled as its library does",
                  ranged<int>([](CommandLine& c, Command) -> int& { return c.common.model.image_size; }, 1, 16384))
                  .shows_meaning("the model's own size"));
  t.push_back(Row("--max-pixels", "N", kRunsModel, "Refuse images whose header says they are larger, before decoding",
                  ranged<uint64_t>([](CommandLine& c, Command) -> uint64_t& { return c.common.max_pixels; }, 1,
                                   uint64_t{1} << 31))
                  .shows([](const CommandLine& c) { return std::to_string(c.common.max_pixels); }));
  t.push_back(Row("-v,--verbose", "", kAllCommands, "More logs on stderr (-vv for debug)",
                  count([](CommandLine& c, Command k) -> int& { return log_field(c, k).verbose; })));
  t.push_back(Row("-q,--quiet", "", kAllCommands, "Only errors on stderr (no progress, no summary)",
                  flag([](CommandLine& c, Command k) -> bool& { return log_field(c, k).quiet; })));
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
