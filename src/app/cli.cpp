// The command line; see include/vit/app/cli.h.
#include "vit/app/cli.h"

#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <functional>
#include <istream>
#include <iterator>
#include <ostream>

#include "vit/app/bench_command.h"
#include "vit/app/classify_command.h"
#include "vit/app/eval_command.h"
#include "vit/app/exit_status.h"
#include "vit/app/explain_command.h"
#include "vit/app/models_command.h"
#include "vit/app/option_completion.h"
#include "vit/app/option_docs.h"
#include "vit/app/option_table.h"
#include "vit/app/process_state.h"
#include "vit/image/decode.h"
#include "vit/io/text.h"
#include "vit/model/runtime.h"

namespace vit {

namespace {

const char* kExamples = R"(Examples:
  vit-classify photo.jpg                        (the model from $VIT_CLASSIFY_MODEL or the model folders)
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

struct Commands {
  CLI::App* classify = nullptr;
  CLI::App* explain = nullptr;
  CLI::App* eval = nullptr;
  CLI::App* models = nullptr;
  CLI::App* bench = nullptr;
};

std::string footer(Command k) {
  switch (k) {
    case kClassify: return std::string(kExamples) + exit_status_help();
    case kExplain: return std::string(explain_help_footer()) + "\n" + exit_status_help();
    case kModels:
      return "The cache is $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else "
             "~/.cache/huggingface/hub: the one Python's huggingface_hub uses. HF_ENDPOINT, HF_TOKEN and "
             "HF_HUB_OFFLINE "
             "are honoured.\n\n" +
             exit_status_help();
    case kEval:
    case kBench: return exit_status_help();
  }
  return exit_status_help();
}

CLI::App*& slot(Commands& c, Command k) {
  switch (k) {
    case kClassify: return c.classify;
    case kExplain: return c.explain;
    case kEval: return c.eval;
    case kModels: return c.models;
    case kBench: return c.bench;
  }
  return c.classify;
}

// The whole command tree, from the option table. classify's options are declared on the top
// level too, so that `vit-classify IMAGES` is `vit-classify classify IMAGES`.
void declare(CLI::App& app, Commands& c, CommandLine& p) {
  app.description("Classify images with a Vision Transformer (ViT). Results go to stdout, logs to stderr.");
  app.footer(footer(kClassify));
  app.set_version_flag("--version", std::function<std::string()>(version_text));  // computed only when asked
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);   // a repeated option: the last wins
  app.require_subcommand(0, 1);
  declare_options(app, kClassify, p);
  for (const CommandInfo& info : commands()) {
    CLI::App* sub = slot(c, info.command) = app.add_subcommand(info.name, info.summary);
    if (*info.description) sub->description(info.description);
    sub->footer(footer(info.command));
    declare_options(*sub, info.command, p);
  }
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
    const std::string best = closest_match(given, names, 2);
    if (!best.empty()) return " (did you mean " + best + " for " + given + "?)";
  }
  return "";
}

// A first word that names no file but is a command misspelt (`evl`, `clasify`): refused before
// anything loads, rather than read as an image that does not exist. Returns "" or the command.
std::string misspelt_command(const std::vector<std::string>& args) {
  if (args.empty() || args[0].empty() || args[0][0] == '-') return "";
  const std::string& word = args[0];
  std::vector<std::string> names{"help"};
  for (const CommandInfo& c : commands()) names.emplace_back(c.name);
  struct stat st {};
  if (std::find(names.begin(), names.end(), word) != names.end() || ::stat(word.c_str(), &st) == 0) return "";
  return closest_match(word, names, 2);
}

// `vit-classify --generate-docs man|bash|zsh` (hidden; scripts/generate_docs.sh): the man page
// (its template read from `in`) or a completion script, made from the option table.
int generate_docs(const std::string& what, std::ostream& out, std::ostream& err, std::istream* in) {
  if (what == "man" && in) {
    const std::string tmpl{std::istreambuf_iterator<char>(*in), std::istreambuf_iterator<char>()};
    out << generate_man_page(tmpl);
  } else if (what == "bash") {
    out << generate_bash_completion();
  } else if (what == "zsh") {
    out << generate_zsh_completion();
  } else {
    err << "vit-classify: error: --generate-docs man|bash|zsh (man reads its template on standard input)\n";
    return static_cast<int>(ExitCode::Usage);
  }
  return static_cast<int>(ExitCode::Ok);
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
  CommandLine p;
  CLI::App app{"vit-classify", "vit-classify"};
  Commands c;
  declare(app, c, p);
  if (!args.empty() && args[0] == "help") return print_help(app, args, out, err);
  if (args.size() == 2 && args[0] == "--generate-docs") return generate_docs(args[1], out, err, in);
  if (const std::string command = misspelt_command(args); !command.empty()) {
    err << "vit-classify: error: '" << args[0] << "' is neither a file nor a command; did you mean '" << command
        << "'?\nRun with --help for usage.\n";
    return static_cast<int>(ExitCode::Usage);
  }
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
    const CLI::App* scope = &app;
    for (const CommandInfo& info : commands())
      if (slot(c, info.command)->parsed()) scope = slot(c, info.command);
    err << "vit-classify: error: " << e.what() << suggestion(*scope, args) << "\nRun with --help for usage.\n";
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
