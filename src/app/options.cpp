// Typed options; see include/vit/app/options.h.
#include "vit/app/options.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>
#include <thread>

#include "vit/errors.h"

namespace vit {

namespace {

// An option whose text `parse` turns into the target's type; a UsageError becomes CLI11's
// parse error, so a bad value stops the command line before anything loads.
template <class T>
CLI::Option* add_parsed(CLI::App& app, const std::string& flags, T& target, std::function<T(const std::string&)> parse,
                        const std::string& description) {
  return app.add_option_function<std::string>(
      flags,
      [&target, parse](const std::string& s) {
        try {
          target = parse(s);
        } catch (const UsageError& e) {
          throw CLI::ValidationError(e.what());
        }
      },
      description);
}

template <class E>
CLI::Option* add_named(CLI::App& app, const std::string& flags, E& target, const Vocabulary<E>& words,
                       const std::string& what, const std::string& description) {
  return add_parsed<E>(
      app, flags, target, [&words, what](const std::string& s) { return parse_named(words, s, what); },
      description + ": " + choices(words));
}

int parse_positive(const std::string& s, const std::string& what) {
  try {
    size_t used = 0;
    const long v = std::stol(s, &used);
    if (used == s.size() && v > 0 && v <= 1000000) return static_cast<int>(v);
  } catch (const std::exception&) {
  }
  throw UsageError(what + ": expected a whole number from 1 to 1000000, got '" + s + "'");
}

int cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!s.empty() && s.back() == sep) parts.emplace_back();
  return parts;
}

}  // namespace

std::array<float, 3> parse_triple(const std::string& s, const std::string& what) {
  const std::vector<std::string> parts = split(s, ',');
  if (parts.size() != 1 && parts.size() != 3)
    throw UsageError(what + ": expected 1 or 3 comma-separated numbers, got '" + s + "'");
  std::array<float, 3> v{};
  for (size_t i = 0; i < parts.size(); ++i) {
    try {
      size_t used = 0;
      v[i] = std::stof(parts[i], &used);
      if (used != parts[i].size() || !std::isfinite(v[i])) throw std::invalid_argument(parts[i]);
    } catch (const std::exception&) {
      throw UsageError(what + ": '" + parts[i] + "' is not a finite number");
    }
  }
  if (parts.size() == 1) v[1] = v[2] = v[0];
  return v;
}

ResizeSpec parse_resize(const std::string& s) {
  if (s == "none") return ResizeSpec::none();
  const auto x = s.find('x');
  ResizeSpec r;
  if (x == std::string::npos) {
    r.shorter = parse_positive(s, "--resize (N, WxH or none)");
  } else {
    r.width = parse_positive(s.substr(0, x), "--resize WxH: W");
    r.height = parse_positive(s.substr(x + 1), "--resize WxH: H");
  }
  return r;
}

int parse_crop(const std::string& s) { return s == "none" ? 0 : parse_positive(s, "--crop (N or none)"); }

Shard parse_shard(const std::string& s) {
  const auto slash = s.find('/');
  if (slash == std::string::npos) throw UsageError("--shard: expected K/N (e.g. 3/16), got '" + s + "'");
  const int k = parse_positive(s.substr(0, slash), "--shard K/N: K");
  const int n = parse_positive(s.substr(slash + 1), "--shard K/N: N");
  if (k > n) throw UsageError("--shard " + s + ": need 1 <= K <= N");
  return {k - 1, n};
}

DeviceSpec parse_device(const std::string& s) {
  DeviceSpec d;
  if (s == "auto") return d;
  if (s == "cpu") {
    d.kind = DeviceSpec::Kind::Cpu;
    return d;
  }
  if (s == "cuda" || s.rfind("cuda:", 0) == 0) {
    d.kind = DeviceSpec::Kind::Cuda;
    if (s.size() > 5) {
      const std::string n = s.substr(5);
      if (n.empty() || !std::all_of(n.begin(), n.end(), ::isdigit) || n.size() > 4)
        throw UsageError("--device " + s + ": expected cuda:N with N a device number");
      d.index = std::stoi(n);
    }
    return d;
  }
  throw UsageError("--device: unknown device '" + s + "' (expected auto, cpu, cuda or cuda:N)");
}

std::vector<std::string> parse_extensions(const std::string& list) {
  std::vector<std::string> out;
  for (std::string e : split(list, ',')) {
    while (!e.empty() && (e[0] == '.' || e[0] == ' ')) e.erase(0, 1);
    while (!e.empty() && e.back() == ' ') e.pop_back();
    std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!e.empty()) out.push_back(e);
  }
  if (out.empty()) throw UsageError("--ext: no extensions in '" + list + "'");
  return out;
}

namespace {

void declare_preprocess_options(CLI::App& app, PreprocessOverrides& p) {
  add_parsed<std::optional<Preset>>(
      app, "--preset", p.preset,
      [](const std::string& s) -> std::optional<Preset> {
        if (s == "auto" || s == "AUTO") return std::nullopt;
        return parse_named(preset_names(), s, "--preset");
      },
      "Preprocessing: auto (the one the weights were trained with), " + choices(preset_names()) + " (default auto)")
      ->type_name("NAME");
  add_parsed<std::optional<ResizeSpec>>(app, "--resize", p.resize, parse_resize,
                                        "Override the preset's resize: N (shorter side), WxH (exact), or none")
      ->type_name("N|WxH|none");
  add_parsed<std::optional<int>>(app, "--crop", p.crop, parse_crop, "Override the preset's center crop side, or none")
      ->type_name("N|none");
  add_parsed<std::optional<Interpolation>>(
      app, "--interpolation", p.interpolation,
      [](const std::string& s) { return parse_named(interpolation_names(), s, "--interpolation"); },
      "Override the preset's resampling: " + choices(interpolation_names()))
      ->type_name("NAME");
  using Triple = std::optional<std::array<float, 3>>;
  add_parsed<Triple>(
      app, "--mean", p.mean, [](const std::string& s) { return parse_triple(s, "--mean"); },
      "Override the preset's normalisation mean: R,G,B (or one value)")
      ->type_name("R,G,B");
  add_parsed<Triple>(
      app, "--std", p.std,
      [](const std::string& s) {
        const auto v = parse_triple(s, "--std");
        for (float x : v)
          if (!(x > 0)) throw UsageError("--std: every value must be positive, got '" + s + "'");
        return v;
      },
      "Override the preset's normalisation std: R,G,B (or one value)")
      ->type_name("R,G,B");
}

// The batch pipeline's options, shared by classify and eval.
void declare_pipeline_options(CLI::App& app, ClassifyCommandOptions& o) {
  app.add_flag_callback(
      "--progress", [&o] { o.progress = ProgressMode::Always; },
      "Show progress on stderr even when it is not a terminal (plain lines there)");
  app.add_flag_callback(
      "--no-progress", [&o] { o.progress = ProgressMode::Never; }, "Never show progress");
  app.add_option("--workers", o.workers, "Parallel pipelines (default 0: one per thread when there are several inputs)")
      ->check(CLI::Range(0, 4 * cores()).description(""))
      ->type_name("N");
  app.add_flag("--fast-decode", o.fast_decode,
               "Decode large JPEGs at 1/2-1/8 scale (faster; pixels differ slightly from Pillow's)");
  app.add_option("--batch-size", o.batch_size, "Images per inference batch, 1 to 1024 (default 8)")
      ->check(CLI::Range(1, 1024).description(""))
      ->type_name("N");
}

}  // namespace

void declare_common_options(CLI::App& app, CommonOptions& o) {
  ModelOptions& m = o.model;
  app.add_option("-m,--model", m.model,
                 "Weights (.safetensors, .pth) or TorchScript file, a model folder, or a Hugging Face repository "
                 "ORG/NAME[@REVISION] (default: $VIT_CLASSIFY_MODEL, else the one in models/)")
      ->type_name("MODEL");
  app.add_flag("--offline", m.offline, "Use the Hugging Face cache only, never the network (as HF_HUB_OFFLINE=1)");
  app.add_option("-k,--top-k", o.output.top_k, "Number of classes to show (default 5)")
      ->check(CLI::Range(1, 1000000).description(""))
      ->type_name("N");
  add_named(app, "--format", o.output.format, format_names(), "--format",
            "Output (json: one object per line; default text)")
      ->type_name("NAME");
  declare_preprocess_options(app, m.preprocess);
  app.add_option("--labels", m.labels_path, "Class names, one per line (replaces the model's own or ImageNet-1k's)")
      ->check(CLI::ExistingFile.description(""))
      ->type_name("FILE");
  add_parsed<DeviceSpec>(app, "--device", m.device, parse_device, "auto, cpu, cuda or cuda:N (default auto)")
      ->type_name("DEVICE");
  app.add_option("--threads", m.threads, "Math threads (default 0: one per core)")
      ->check(CLI::Range(0, 4 * cores()).description(""))
      ->type_name("N");
  add_named(app, "--precision", m.precision, precision_names(), "--precision",
            "Arithmetic of the linear layers (bf16 and int8: faster, approximate, CPU only; default fp32)")
      ->type_name("NAME");
  app.add_option("--heads", m.heads, "Attention heads, only for weights of unusual width without a config.json")
      ->check(CLI::Range(1, 4096).description(""))
      ->type_name("N");
  app.add_option("--image-size", m.image_size,
                 "Run the model at N x N pixels, its position embeddings resampled as its library does (default: the "
                 "model's own size)")
      ->check(CLI::Range(1, 16384).description(""))
      ->type_name("N");
  app.add_option("--max-pixels", o.max_pixels,
                 "Refuse images whose header says they are larger, before decoding (default 100000000)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 31).description(""))
      ->type_name("N");
  app.add_flag("-v,--verbose", o.log.verbose, "More logs on stderr (-vv for debug)");
  app.add_flag("-q,--quiet", o.log.quiet, "Only errors on stderr (no progress bar, no summary)");
}

void declare_classify_options(CLI::App& app, ClassifyCommandOptions& o) {
  app.add_option("images", o.inputs, "Image files (and, with -r, directories) to classify; - reads one from stdin");
  app.add_flag("-r,--recursive", o.recursive, "Classify the images in directories, and in their subdirectories");
  app.add_option("--files-from", o.files_from, "Read input paths from FILE, one per line (- = standard input)")
      ->type_name("FILE");
  app.add_flag("-0,--null", o.null_separated, "--files-from entries end with NUL (find -print0)");
  add_parsed<std::vector<std::string>>(app, "--ext", o.extensions, parse_extensions,
                                       "Extensions to take from directories (default: every type OpenCV reads)")
      ->type_name("LIST");
  app.add_flag("--hidden", o.hidden, "Include hidden files and directories found in directories");
  add_parsed<Shard>(app, "--shard", o.shard, parse_shard,
                    "Take the K-th of N deterministic parts of the inputs (K/N, 1-based)")
      ->type_name("K/N");
  app.add_option("-o,--output", o.output, "Write records to FILE instead of standard output")->type_name("FILE");
  app.add_flag("--force", o.force, "Replace an -o FILE that already holds records");
  app.add_flag("--resume", o.resume, "Skip inputs already recorded in the -o file and append the rest");
  app.add_flag("--retry-failed", o.retry_failed, "With --resume, also redo the inputs whose record is an error");
  declare_pipeline_options(app, o);
}

void declare_explain_options(CLI::App& app, ExplainCommandOptions& o) {
  app.add_option("image", o.images, "The image to explain (one)");
  app.add_option("-o,--output", o.out_dir, "Folder for the pictures (default: IMAGE's name + -explained)")
      ->type_name("DIR");
  // Range, not CLI::PositiveNumber, whose message gave -1 a range up to 1.8e308 in full.
  app.add_option("--layer", o.layer, "Layer for the per-head pictures, numbered from 1 (default: the last)")
      ->check(CLI::Range(1, 100000).description(""))
      ->type_name("L");
  app.add_option("--head", o.head, "Head for the attention matrix picture, numbered from 1 (default 1)")
      ->check(CLI::Range(1, 100000).description(""))
      ->type_name("H");
  add_named(app, "--head-fusion", o.fusion, head_fusion_names(), "--head-fusion",
            "How rollout combines heads (default mean)")
      ->type_name("NAME");
  add_named(app, "--head-scale", o.head_scale, head_scale_names(), "--head-scale",
            "Per-head pictures: each panel to its own top, high-norm patches left out (panel, the default), or one "
            "scale for all (shared)")
      ->type_name("NAME");
  app.add_option("--discard-ratio", o.discard_ratio,
                 "Rollout: share of the weakest attention weights dropped, in [0, 1) (default 0)")
      ->check(CLI::Range(0.0, 0.999999).description(""))
      ->type_name("R");
  app.add_flag("--force", o.force, "Replace files that already exist in the output folder");
}

void declare_eval_options(CLI::App& app, EvalCommandOptions& o) {
  ClassifyCommandOptions& job = o.job;
  // The common --format says how eval prints its figures (the records' is --records-format).
  app.get_option("--format")->description("The figures on standard output: text or json");
  app.add_option("dataset", o.dataset,
                 "An ImageFolder directory (one subfolder per class, named by WordNet id, class index or label) or a "
                 ".csv/.tsv list of file,label");
  app.add_option("-o,--output", job.output, "Write the per-image records (with the true class) to FILE")
      ->type_name("FILE");
  add_parsed<std::optional<Format>>(
      app, "--records-format", o.records_format,
      [](const std::string& s) -> std::optional<Format> {
        const Format f = parse_named(format_names(), s, "--records-format");
        if (f == Format::Text)
          throw UsageError("--records-format: text records cannot be read back; use json, csv or tsv");
        return f;
      },
      "Format of the -o records: json, csv or tsv (default: from -o's extension, else json)")
      ->type_name("NAME");
  app.add_flag("--force", job.force, "Replace an -o FILE that already holds records");
  app.add_flag("--resume", job.resume, "Count the images already recorded in the -o file (json) and do the rest");
  app.add_option("--worst", o.worst, "Classes listed as the worst (default 10)")
      ->check(CLI::Range(0, 1000000).description(""))
      ->type_name("N");
  app.add_option("--confusions", o.confusions, "Most frequent confusions listed (default 10)")
      ->check(CLI::Range(0, 1000000).description(""))
      ->type_name("N");
  declare_pipeline_options(app, job);
}

void declare_models_options(CLI::App& app, ModelsCommandOptions& o) {
  app.add_option("--fetch", o.fetch,
                 "Download a Hugging Face model ORG/NAME[@REVISION] into the cache (repeatable) before listing")
      ->type_name("REPO")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  add_parsed<Format>(
      app, "--format", o.format,
      [](const std::string& s) {
        const Format f = parse_named(format_names(), s, "--format");
        if (f != Format::Text && f != Format::Json) throw UsageError("--format: models lists as text or json");
        return f;
      },
      "Listing: text or json (one object per model; default text)")
      ->type_name("NAME");
  app.add_flag("--offline", o.offline, "Never use the network (as HF_HUB_OFFLINE=1)");
  app.add_flag("-v,--verbose", o.log.verbose, "More logs on stderr (-vv for debug)");
  app.add_flag("-q,--quiet", o.log.quiet, "Only errors on stderr (no download progress)");
}

void declare_bench_options(CLI::App& app, BenchCommandOptions& o) {
  // The common --format says how bench prints its figures.
  app.get_option("--format")->description("The figures on standard output: text or json");
  add_parsed<std::vector<int>>(
      app, "--batch-size", o.batch_sizes,
      [](const std::string& s) {
        std::vector<int> sizes;
        for (const auto& part : split(s, ',')) sizes.push_back(parse_positive(part, "--batch-size (N or N,M,...)"));
        for (int n : sizes)
          if (n > 1024) throw UsageError("--batch-size: at most 1024 images per batch, got " + std::to_string(n));
        return sizes;
      },
      "Batch sizes to time, comma-separated (default 1,8)")
      ->type_name("N[,N...]");
  app.add_option("--iterations", o.iterations, "Timed batches per batch size (default 0: as many as fit in --seconds)")
      ->check(CLI::Range(0, 1000000).description(""))
      ->type_name("N");
  app.add_option("--seconds", o.seconds, "Time per batch size when --iterations is 0 (default 3; at least 5 batches)")
      ->check(CLI::Range(0.0, 3600.0).description(""))
      ->type_name("S");
  app.add_option("--warmup", o.warmup, "Untimed batches before timing, per batch size (default 2)")
      ->check(CLI::Range(0, 1000).description(""))
      ->type_name("N");
  app.add_option("--image", o.image, "Time on this photo, preprocessed for the model (default: random inputs)")
      ->check(CLI::ExistingFile.description(""))
      ->type_name("FILE");
}

void check_classify_options(const ClassifyCommandOptions& o, const CommonOptions& common) {
  if (o.inputs.empty() && o.files_from.empty()) throw UsageError("no input images given (see --help)");
  if (o.null_separated && o.files_from.empty()) throw UsageError("-0 needs --files-from");
  if (o.resume && (o.output.empty() || o.output == "-")) throw UsageError("--resume needs -o FILE");
  if (o.resume && o.force) throw UsageError("--resume adds to the -o file and --force replaces it: pass one of them");
  if (o.retry_failed && !o.resume) throw UsageError("--retry-failed goes with --resume");
  if (o.resume && common.output.format == Format::Text)
    throw UsageError("--resume needs --format json, csv or tsv (text output cannot be read back)");
  const auto stdin_images = std::count(o.inputs.begin(), o.inputs.end(), "-");
  if (stdin_images > 1 || (stdin_images == 1 && o.files_from == "-"))
    throw UsageError("standard input can be read once: give '-' as one image, or --files-from -, not both");
}

}  // namespace vit
