// Command-line front end; see include/vit/cli.h.
#include "vit/cli.h"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <dirent.h>
#include <ostream>
#include <sstream>

#include "vit/classify.h"
#include "vit/cli_explain.h"
#include "vit/engine.h"
#include "vit/errors.h"
#include "vit/output.h"

namespace vit {

namespace {

const char* kFooter = R"(Examples:
  vit-classify -m models/vit_base_patch16_224.safetensors photo.jpg
  vit-classify -m model.safetensors -k 3 --format json a.jpg b.png
  vit-classify -m vit_b_16.pth --preset torchvision --threads 2 photo.jpg
  VIT_CLASSIFY_MODEL=model.safetensors vit-classify --format csv *.jpg > labels.csv

Presets (--preset; auto picks the one the weights were trained with):
  timm         shorter side floor(S/0.9) bicubic, center crop S, mean/std 0.5
  torchvision  shorter side S*256/224 bilinear, center crop S, ImageNet mean/std
  hf           squash to SxS bilinear, mean/std 0.5
  deit         as timm, with ImageNet mean/std

Exit status:
  0  every input classified       1  some inputs failed (the others were done)
  2  bad command line             3  the model could not be loaded (file, format, device)
  4  internal error)";

bool is_regular_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_model_name(const std::string& name) {
  for (const char* ext : {".safetensors", ".pth", ".pt", ".bin", ".ts"}) {
    const std::string e(ext);
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) return true;
  }
  return false;
}

std::vector<std::string> models_in(const std::string& dir) {
  std::vector<std::string> found;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name[0] != '.' && is_model_name(name) && is_regular_file(dir + "/" + name)) found.push_back(dir + "/" + name);
    }
    ::closedir(d);
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::string exe_dir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.find_last_of('/'));
}

int parse_int(const std::string& s, const std::string& what) {
  try {
    size_t used = 0;
    const int v = std::stoi(s, &used);
    if (used == s.size() && v >= 0) return v;
  } catch (const std::exception&) {
  }
  throw UsageError(what + ": expected a non-negative integer, got '" + s + "'");
}

std::array<float, 3> parse_triple(const std::string& s, const std::string& what) {
  std::array<float, 3> v{};
  std::stringstream in(s);
  std::string part;
  int i = 0;
  while (std::getline(in, part, ',')) {
    if (i >= 3) break;
    try {
      size_t used = 0;
      v[i] = std::stof(part, &used);
      if (used != part.size()) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      throw UsageError(what + ": '" + part + "' is not a number");
    }
    ++i;
  }
  if (i == 1) v[1] = v[2] = v[0];
  else if (i != 3 || std::getline(in, part)) throw UsageError(what + ": expected 1 or 3 comma-separated numbers, got '" + s + "'");
  return v;
}

void setup_logging(std::ostream& err, const CliOptions& o) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(err, true);
  auto logger = std::make_shared<spdlog::logger>("vit-classify", sink);
  logger->set_pattern("vit-classify: %l: %v");
  spdlog::level::level_enum level = spdlog::level::warn;
  if (o.quiet) level = spdlog::level::err;
  if (o.verbose == 1) level = spdlog::level::info;
  if (o.verbose >= 2) level = spdlog::level::debug;
  logger->set_level(level);
  spdlog::set_default_logger(logger);
}

int run_classify(const CliOptions& o, std::ostream& out) {
  if (o.inputs.empty()) throw UsageError("no input images given (see --help)");
  if (o.top_k < 1) throw UsageError("--top-k must be at least 1");
  if (o.batch_size < 1) throw UsageError("--batch-size must be at least 1");
  const Format format = parse_format(o.format);
  const std::optional<Labels> user_labels = o.labels_path.empty() ? std::nullopt : std::optional<Labels>(Labels::from_file(o.labels_path));
  Engine engine(engine_options(o));
  const ModelInfo& info = engine.info();
  spdlog::info("model {} ({}, {} names): {}", info.path, info.format, info.family, info.description);
  const PreprocessConfig pre = resolve_preprocess(o, info);
  spdlog::info("{}", pre.describe());
  const Labels labels = choose_labels(user_labels, info);

  std::string model_name = info.path.substr(info.path.find_last_of('/') + 1);
  RecordWriter writer(out, format, o.top_k, model_name, o.inputs.size() > 1);
  writer.header();
  ClassifyOptions co;
  co.inputs = o.inputs;
  co.top_k = o.top_k;
  co.batch_size = o.batch_size;
  const ClassifySummary s = classify_files(engine, pre, labels, co, [&](const Record& r) { writer.write(r); });
  spdlog::info("{} images, {} failed, {:.2f} s", s.images, s.failed, s.seconds);
  return static_cast<int>(s.failed ? ExitCode::SomeFailed : ExitCode::Ok);
}

}  // namespace

PreprocessConfig resolve_preprocess(const CliOptions& o, const ModelInfo& info) {
  PreprocessConfig c;
  if (o.preset == "auto") {
    c = info.preprocess;
    spdlog::info("preset auto -> {} ({})", c.preset, info.preprocess_reason);
  } else {
    c = preset_config(o.preset, info.image_size);
  }
  bool changed = false;
  if (!o.resize.empty()) {
    changed = true;
    const auto x = o.resize.find('x');
    if (o.resize == "none" || o.resize == "0") {
      c.resize_short = c.resize_width = c.resize_height = 0;
    } else if (x != std::string::npos) {
      c.resize_width = parse_int(o.resize.substr(0, x), "--resize");
      c.resize_height = parse_int(o.resize.substr(x + 1), "--resize");
      c.resize_short = 0;
      if (c.resize_width == 0 || c.resize_height == 0) throw UsageError("--resize WxH: both sides must be positive");
    } else {
      c.resize_short = parse_int(o.resize, "--resize");
      c.resize_width = c.resize_height = 0;
    }
  }
  if (!o.crop.empty()) {
    changed = true;
    c.crop = o.crop == "none" ? 0 : parse_int(o.crop, "--crop");
  }
  if (!o.interpolation.empty()) {
    changed = true;
    c.interpolation = parse_interpolation(o.interpolation);
  }
  if (!o.mean.empty()) {
    changed = true;
    c.mean = parse_triple(o.mean, "--mean");
  }
  if (!o.std.empty()) {
    changed = true;
    c.std = parse_triple(o.std, "--std");
    for (float s : c.std)
      if (!(s > 0)) throw UsageError("--std: every value must be positive");
  }
  if (changed) c.preset += "+overrides";
  return c;
}

EngineOptions engine_options(const CliOptions& o) {
  EngineOptions eo;
  eo.model_path = o.model.empty() ? default_model_path() : o.model;
  eo.device = o.device;
  eo.threads = o.threads;
  eo.heads = o.heads;
  return eo;
}

Labels choose_labels(const std::optional<Labels>& user, const ModelInfo& info) {
  const Labels& labels = user ? *user : info.labels ? *info.labels : Labels::imagenet1k();
  if (info.num_classes > 0 && static_cast<size_t>(info.num_classes) != labels.size())
    spdlog::warn("the model has {} classes but the label list has {}; pass --labels FILE", info.num_classes, labels.size());
  return labels;
}

std::string default_model_path() {
  if (const char* env = std::getenv("VIT_CLASSIFY_MODEL"); env && *env) return env;
  std::vector<std::string> dirs{"models", exe_dir() + "/../models", exe_dir() + "/models", VIT_CLASSIFY_SOURCE_DIR "/models"};
  for (const auto& dir : dirs) {
    const auto found = models_in(dir);
    if (found.empty()) continue;
    for (const auto& f : found)
      if (f.substr(f.find_last_of('/') + 1).rfind("default", 0) == 0) return f;
    if (found.size() > 1) spdlog::info("several models in {}; using {} (pass -m to choose)", dir, found.front());
    return found.front();
  }
  throw UsageError("no model given: pass -m PATH (a .safetensors, .pth or TorchScript file), set VIT_CLASSIFY_MODEL, "
                   "or fetch one into models/ with scripts/fetch_models.py (needs internet)");
}

void declare_options(CLI::App& app, CliOptions& o) {
  app.description("Classify images with a Vision Transformer (ViT). Results go to stdout, logs to stderr.");
  app.footer(kFooter);
  app.set_version_flag("--version", std::string("vit-classify ") + VIT_CLASSIFY_VERSION);
  app.add_option("images", o.inputs, "Image files to classify");
  app.add_option("-m,--model", o.model,
                 "Weights (.safetensors, .pth) or TorchScript file; default $VIT_CLASSIFY_MODEL, else the one in models/");
  app.add_option("-k,--top-k", o.top_k, "Number of classes to show")->check(CLI::PositiveNumber);
  app.add_option("--format", o.format, "Output: text, json (one object per line), csv or tsv")
      ->check(CLI::IsMember({"text", "json", "jsonl", "csv", "tsv"}));
  app.add_option("--preset", o.preset, "Preprocessing: auto, timm, torchvision, hf or deit")
      ->check(CLI::IsMember({"auto", "timm", "torchvision", "hf", "deit"}));
  app.add_option("--resize", o.resize, "Override resize: N (shorter side), WxH (exact), or none");
  app.add_option("--crop", o.crop, "Override center crop side, or none");
  app.add_option("--interpolation", o.interpolation, "Override: nearest, bilinear, bicubic, lanczos, box, hamming")
      ->check(CLI::IsMember({"nearest", "bilinear", "bicubic", "lanczos", "box", "hamming"}));
  app.add_option("--mean", o.mean, "Override normalisation mean: R,G,B (or one value)");
  app.add_option("--std", o.std, "Override normalisation std: R,G,B (or one value)");
  app.add_option("--labels", o.labels_path, "Class names, one per line (replaces the built-in ImageNet-1k list)")
      ->check(CLI::ExistingFile);
  app.add_option("--device", o.device, "auto, cpu, cuda or cuda:N");
  app.add_option("--threads", o.threads, "Math threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--heads", o.heads, "Attention heads, for weights without a config.json of unusual width")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--batch-size", o.batch_size, "Images per inference batch")->check(CLI::PositiveNumber);
  app.add_flag("-v,--verbose", o.verbose, "More logs on stderr (-vv for debug)");
  app.add_flag("-q,--quiet", o.quiet, "Only errors on stderr");
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CliOptions o;
  CLI::App app{"vit-classify", "vit-classify"};
  declare_options(app, o);
  // `explain IMAGE -o DIR`: also takes the model and preprocessing options (vit/cli_explain.h).
  ExplainCliOptions xo;
  CLI::App* explain = app.add_subcommand("explain", "Pictures of what the model looks at for one image");
  declare_options(*explain, o);
  declare_explain_options(*explain, xo);
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last-first
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    out << app.help();
    return 0;
  } catch (const CLI::CallForVersion& e) {
    out << e.what() << '\n';
    return 0;
  } catch (const CLI::ParseError& e) {
    err << "vit-classify: error: " << e.what() << "\nRun with --help for usage.\n";
    return static_cast<int>(ExitCode::Usage);
  }
  setup_logging(err, o);
  if (explain->parsed()) return run_explain_command(o, xo, out);
  try {
    return run_classify(o, out);
  } catch (const UsageError& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(ExitCode::Usage);
  } catch (const ModelError& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(ExitCode::ModelLoad);
  } catch (const DeviceError& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(ExitCode::ModelLoad);
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    return static_cast<int>(ExitCode::Internal);
  }
}

}  // namespace vit
