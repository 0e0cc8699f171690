// The command line; see include/vit/app/cli.h.
#include "vit/app/cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <functional>
#include <ostream>

#include "vit/app/bench_command.h"
#include "vit/app/classify_command.h"
#include "vit/app/eval_command.h"
#include "vit/app/exit_status.h"
#include "vit/app/explain_command.h"
#include "vit/app/models_command.h"
#include "vit/app/options.h"
#include "vit/app/process_state.h"
#include "vit/image/decode.h"
#include "vit/model/runtime.h"

namespace vit {

namespace {

const char* kExamples = R"(Examples:
  vit-classify photo.jpg                        (the model from $VIT_CLASSIFY_MODEL or models/)
  vit-classify -m models/vit_tiny_patch16_224.safetensors -k 3 --format json a.jpg b.png
  vit-classify --preset timm --threads 2 photo.jpg
  cat photo.png | vit-classify -
  vit-classify -r photos/ --format csv -o labels.csv
  find /data -name '*.jpg' -print0 | vit-classify --files-from - -0 --format json
  vit-classify -r /data --shard 3/16 --format json -o part-03.jsonl
  vit-classify -r /data --format json -o labels.jsonl --resume
  vit-classify explain photo.jpg                (pictures into photo-explained/)
  vit-classify -m google/vit-base-patch16-224 photo.jpg   (downloaded once into the Hugging Face cache)
  vit-classify -m ~/models/vit-base/ photo.jpg  (a folder: model.safetensors + config.json)
  vit-classify eval -m timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k imagenet/val/
  vit-classify models                           (what the Hugging Face cache holds)
  vit-classify bench -m model.safetensors --batch-size 1,8 --format json

Commands: classify (the default, so the word may be left out), explain, eval, models, bench, help [COMMAND].

Presets (--preset; auto picks the one the weights were trained with):
  timm         shorter side floor(S/0.9) bicubic, center crop S, mean/std 0.5
  torchvision  shorter side S*256/224 bilinear, center crop S, ImageNet mean/std
  hf           squash to SxS bilinear, mean/std 0.5
  deit         as timm, with ImageNet mean/std

)";

std::string version_text() {
  const std::string blas = blas_library_path();
  return std::string("vit-classify ") + VIT_CLASSIFY_VERSION + " (commit " + VIT_CLASSIFY_COMMIT + ")\n" + "LibTorch " +
         torch_version() + ", OpenCV " + opencv_version() + "\nBLAS: " + (blas.empty() ? "unknown" : blas) +
         (blas_is_reference(blas) ? " (the slow reference BLAS)" : "") + "\nCUDA: " +
         (cuda_available()  ? std::to_string(cuda_device_count()) + " device(s)"
          : cuda_compiled() ? "built with CUDA, no device visible"
                            : "not in this build (CPU-only LibTorch)");
}

struct Parsed {
  CommonOptions common;
  ClassifyCommandOptions classify;
  ExplainCommandOptions explain;
  EvalCommandOptions eval;
  ModelsCommandOptions models;
  BenchCommandOptions bench;
};

struct Commands {
  CLI::App* explain = nullptr;
  CLI::App* eval = nullptr;
  CLI::App* models = nullptr;
  CLI::App* bench = nullptr;
};

// The whole command tree. classify's options are declared on the top level too, so that
// `vit-classify IMAGES` is `vit-classify classify IMAGES`.
void declare(CLI::App& app, Commands& c, Parsed& p) {
  app.description("Classify images with a Vision Transformer (ViT). Results go to stdout, logs to stderr.");
  app.footer(std::string(kExamples) + exit_status_help());
  app.set_version_flag("--version", std::function<std::string()>(version_text));  // computed only when asked
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);   // a repeated option: the last wins
  app.require_subcommand(0, 1);
  declare_common_options(app, p.common);
  declare_classify_options(app, p.classify);
  CLI::App* classify = app.add_subcommand("classify", "Classify images (the default command)");
  classify->footer(std::string(kExamples) + exit_status_help());
  declare_common_options(*classify, p.common);
  declare_classify_options(*classify, p.classify);
  CLI::App* explain = c.explain = app.add_subcommand("explain", "Pictures of what the model looks at for one image");
  explain->description(
      "Pictures of what the model looks at for one image: patches, position embeddings, attention per "
      "head, attention rollout and the prediction, with an index.html.");
  explain->footer(std::string(explain_help_footer()) + "\n" + exit_status_help());
  declare_common_options(*explain, p.common);
  declare_explain_options(*explain, p.explain);
  c.eval = app.add_subcommand("eval", "Accuracy on a labelled set (ImageFolder or CSV/TSV)");
  c.eval->description(
      "Top-1 and top-5 accuracy with 95% confidence intervals, images/s, the worst classes and the most "
      "frequent confusions on a labelled set: an ImageFolder directory (one subfolder per class, named by "
      "WordNet id, class index or label) or a .csv/.tsv list of file,label.");
  c.eval->footer(exit_status_help());
  declare_common_options(*c.eval, p.common);
  declare_eval_options(*c.eval, p.eval);
  c.models = app.add_subcommand("models", "List (and --fetch) the models in the Hugging Face cache");
  c.models->footer(
      "The cache is $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else "
      "~/.cache/huggingface/hub: the one Python's huggingface_hub uses. HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE "
      "are honoured.\n\n" +
      exit_status_help());
  declare_models_options(*c.models, p.models);
  c.bench = app.add_subcommand("bench", "Time the model's forward pass per batch size (p50/p90, images/s)");
  c.bench->footer(exit_status_help());
  declare_common_options(*c.bench, p.common);
  declare_bench_options(*c.bench, p.bench);
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// " (did you mean --format?)" for an argument that looks like a misspelled option of `app`.
std::string suggestion(const CLI::App& app, const std::vector<std::string>& args) {
  std::vector<std::string> names;
  for (const CLI::Option* opt : app.get_options())
    for (const auto& n : opt->get_lnames()) names.push_back("--" + n);
  for (const auto& arg : args) {
    if (arg.rfind("--", 0) != 0 || std::find(names.begin(), names.end(), arg.substr(0, arg.find('='))) != names.end())
      continue;
    const std::string given = arg.substr(0, arg.find('='));
    std::string best;
    size_t best_d = 3;  // at most 2 edits
    for (const auto& n : names)
      if (const size_t d = edit_distance(given, n); d < best_d) best_d = d, best = n;
    if (!best.empty()) return " (did you mean " + best + " for " + given + "?)";
  }
  return "";
}

// `vit-classify help [COMMAND]`.
int print_help(CLI::App& app, const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.size() < 2) {
    out << app.help();
    return static_cast<int>(ExitCode::Ok);
  }
  for (CLI::App* sub : app.get_subcommands({}))
    if (sub->get_name() == args[1]) {
      out << sub->help("vit-classify");
      return static_cast<int>(ExitCode::Ok);
    }
  err << "vit-classify: error: no command '" << args[1]
      << "' (commands: classify, explain, eval, models, bench, help)\n";
  return static_cast<int>(ExitCode::Usage);
}

}  // namespace

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, std::istream* in) {
  Parsed p;
  CLI::App app{"vit-classify", "vit-classify"};
  Commands c;
  declare(app, c, p);
  if (!args.empty() && args[0] == "help") return print_help(app, args, out, err);
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last-first
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    out << app.help();  // the chosen subcommand's help
    return static_cast<int>(ExitCode::Ok);
  } catch (const CLI::CallForVersion& e) {
    out << e.what() << '\n';
    return static_cast<int>(ExitCode::Ok);
  } catch (const CLI::ParseError& e) {
    const CLI::App& scope = c.explain->parsed()  ? *c.explain
                            : c.eval->parsed()   ? *c.eval
                            : c.models->parsed() ? *c.models
                            : c.bench->parsed()  ? *c.bench
                                                 : app;
    err << "vit-classify: error: " << e.what() << suggestion(scope, args) << "\nRun with --help for usage.\n";
    return static_cast<int>(ExitCode::Usage);
  }
  const LogOptions& log = c.models->parsed() ? p.models.log : p.common.log;
  ScopedLogger logger(err, log.verbose, log.quiet);
  try {
    if (c.explain->parsed()) return run_explain_command(p.common, p.explain, out, err);
    if (c.eval->parsed()) return run_eval(p.common, p.eval, out, err);
    if (c.models->parsed()) return run_models(p.models, out);
    if (c.bench->parsed()) return run_bench(p.common, p.bench, out);
    return run_classify(p.common, p.classify, out, err, in);
  } catch (...) {
    return exit_status_for_current_exception();
  }
}

}  // namespace vit
