// Loading the model for a subcommand; see include/vit/app/model_setup.h.
#include "vit/app/model_setup.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <map>

#include "vit/app/model_discovery.h"
#include "vit/errors.h"
#include "vit/io/files.h"
#include "vit/io/progress_line.h"
#include "vit/io/text.h"

namespace vit {

Labels choose_labels(const std::optional<Labels>& user, const ModelInfo& info, const std::string& user_path) {
  const Labels& labels = user ? *user : info.labels ? *info.labels : Labels::imagenet1k();
  if (info.num_classes > 0 && static_cast<size_t>(info.num_classes) != labels.size()) {
    const std::string source = user          ? user_path
                               : info.labels ? "the config.json beside the model"
                                             : "the built-in ImageNet-1k list";
    spdlog::warn("the model has {} classes but {} names {}: printing class numbers instead of names{}",
                 info.num_classes, source, labels.size(),
                 user ? "" : " (pass --labels-file FILE with " + std::to_string(info.num_classes) + " lines)");
  }
  return labels;
}

namespace {

// $VIT_CLASSIFY_FP32_KERNEL: "libtorch" runs fp32 linear layers on LibTorch's product (BLAS),
// as PyTorch does; unset, empty or "onednn": oneDNN's float32 matmul. Read only for an fp32 run.
bool fp32_on_libtorch_from_environment() {
  const char* v = std::getenv("VIT_CLASSIFY_FP32_KERNEL");
  if (!v || !*v || std::string(v) == "onednn") return false;
  if (std::string(v) == "libtorch") return true;
  throw UsageError(std::string("VIT_CLASSIFY_FP32_KERNEL='") + v + "': expected onednn or libtorch");
}

// --labels "a,b,c": the items, spaces around each trimmed. Empty and repeated items are refused.
std::vector<std::string> split_label_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t comma = std::min(text.find(',', start), text.size());
    std::string item = text.substr(start, comma - start);
    const size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
    item = a == std::string::npos ? "" : item.substr(a, b - a + 1);
    if (item.empty())
      throw UsageError("--labels '" + clipped(text) + "': label " + std::to_string(out.size() + 1) +
                       " is empty (labels are comma-separated; a label with a comma goes in a --labels-file)");
    out.push_back(item);
    if (comma == text.size()) break;
    start = comma + 1;
  }
  return out;
}

// The labels the command line gives: from --labels (a list, or a file) or --labels-file.
struct GivenLabels {
  std::optional<Labels> file;     // read from a file: class names or CLIP labels
  std::vector<std::string> list;  // --labels a,b,c: CLIP labels only
  std::string source;             // "--labels-file x.txt", for messages
};

GivenLabels given_labels(const ModelOptions& o) {
  GivenLabels g;
  if (!o.labels.empty() && !o.labels_file.empty())
    throw UsageError("--labels and --labels-file both given: give the labels one way");
  const std::string path = !o.labels_file.empty() ? o.labels_file : is_regular_file(o.labels) ? o.labels : "";
  // A single "label" that reads like a file name is a file that is not there, not a label.
  const std::string lower = ascii_lower(o.labels);
  if (path.empty() && o.labels.find(',') == std::string::npos &&
      (o.labels.find('/') != std::string::npos || ends_with(lower, ".txt") || ends_with(lower, ".tsv") ||
       ends_with(lower, ".csv")))
    throw UsageError("--labels " + o.labels +
                     ": no such file (labels typed on the command line are comma-separated: --labels 'cat,dog')");
  if (!path.empty()) {
    if (!o.labels.empty()) spdlog::info("--labels '{}' names a file: reading the labels from it", o.labels);
    g.file = Labels::from_file(path);
    g.source = (o.labels_file.empty() ? "--labels " : "--labels-file ") + path;
  } else if (!o.labels.empty()) {
    g.list = split_label_list(o.labels);
    g.source = "--labels";
  }
  return g;
}

// A CLIP model's labels, each a non-empty name given once.
std::vector<std::string> zero_shot_labels(const GivenLabels& g) {
  std::vector<std::string> names = g.list;
  if (g.file)
    for (size_t i = 0; i < g.file->size(); ++i) names.push_back(g.file->at(i).name);
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) throw UsageError(g.source + ": label " + std::to_string(i + 1) + " is empty");
    const auto [it, fresh] = seen.emplace(names[i], i);
    if (!fresh)
      throw UsageError(g.source + ": the label '" + clipped(names[i]) + "' is given twice (labels " +
                       std::to_string(it->second + 1) + " and " + std::to_string(i + 1) + ")");
  }
  if (g.file && names.empty()) throw UsageError(g.source + ": the file holds no labels");
  return names;
}

// The text tower's progress on a terminal (ImageNet's 80,000 prompts take minutes the first time).
std::function<void(size_t, size_t)> text_tower_progress() {
  if (!::isatty(STDERR_FILENO)) return nullptr;
  auto line = std::make_shared<ProgressLine>(std::cerr, ProgressLine::Style::Terminal, std::chrono::milliseconds(200));
  return [line](size_t done, size_t total) {
    if (total < 4096 || !line->due(done == total)) return;
    line->draw(fmt::format("text tower: {} / {} prompts ({}%)", done, total, done * 100 / total), done == total);
  };
}

}  // namespace

LoadedModel load_model(const ModelOptions& o) {
  const GivenLabels given = given_labels(o);  // a bad file fails before the model loads
  EngineOptions eo;
  eo.zero_shot.labels = zero_shot_labels(given);
  eo.zero_shot.templates = o.templates;
  eo.zero_shot.tokenizer = o.tokenizer;
  if (eo.zero_shot.tokenizer.empty())
    if (const char* env = std::getenv("VIT_CLASSIFY_TOKENIZER")) eo.zero_shot.tokenizer = env;
  eo.zero_shot.progress = text_tower_progress();
  const ResolvedModel model = resolve_model({o.model, o.offline});
  eo.model_path = model.path;
  eo.device = o.device;
  eo.heads = o.heads;
  eo.image_size = o.image_size;
  eo.precision = o.precision;
  eo.batch_invariant = o.deterministic;
  eo.fp32_on_libtorch = o.precision == Precision::Fp32 && fp32_on_libtorch_from_environment();
  LoadedModel m;
  m.hub = model.hub;
  if (model.source == "-m")
    m.engine = std::make_unique<Engine>(eo);
  else  // a model the command line did not name: its errors say where it came from
    m.engine = with_source(model.source, [&] { return std::make_unique<Engine>(eo); });
  const ModelInfo& info = m.engine->info();
  spdlog::info("model {} ({}, {} names): {}", info.path, info.format, info.family, info.description);
  if (!o.preprocess.preset) spdlog::info("preset auto -> {} ({})", info.preprocess.preset, info.preprocess_reason);
  m.preprocess = choose_preprocess(o.preprocess, info.preprocess, info.image_size);
  spdlog::info("{}", m.preprocess.describe());
  check_preprocess_fits(m.preprocess, info.image_size);
  if (info.zero_shot) {
    spdlog::info("CLIP zero-shot: {}", info.zero_shot_summary);
    m.labels = *info.labels;
    return m;
  }
  const std::string clip_only = !given.list.empty()    ? "--labels with a list"
                                : !o.templates.empty() ? "--template"
                                : !o.tokenizer.empty() ? "--tokenizer"
                                                       : "";
  if (!clip_only.empty())
    throw UsageError(clip_only + " is for CLIP models (zero-shot labels); '" + info.path + "' is a classifier with " +
                     std::to_string(info.num_classes) + " fixed classes (--labels-file FILE names them)");
  m.labels = choose_labels(given.file, info, given.source);
  return m;
}

}  // namespace vit
