// The command line; see include/vit/app/cli.h.
#include "vit/app/cli.h"

#include <CLI/CLI.hpp>
#include <ostream>

#include "vit/app/classify_command.h"
#include "vit/app/exit_status.h"
#include "vit/app/explain_command.h"
#include "vit/app/options.h"
#include "vit/app/process_state.h"

namespace vit {

namespace {

const char* kExamples = R"(Examples:
  vit-classify -m models/vit_base_patch16_224.safetensors photo.jpg
  vit-classify -m model.safetensors -k 3 --format json a.jpg b.png
  vit-classify -m vit_b_16.pth --preset torchvision --threads 2 photo.jpg
  VIT_CLASSIFY_MODEL=model.safetensors vit-classify --format csv *.jpg > labels.csv
  vit-classify -m model.safetensors -r photos/ --format csv -o labels.csv
  find /data -name '*.jpg' -print0 | vit-classify -m model.safetensors --files-from - -0 --format json
  vit-classify -m model.safetensors -r /data --shard 3/16 --format json -o part-03.jsonl
  vit-classify -m model.safetensors -r /data --format json -o labels.jsonl --resume
  vit-classify explain -m model.safetensors photo.jpg -o photo-explained

Commands: classify (the default, so the word may be left out), explain (see explain --help).

Presets (--preset; auto picks the one the weights were trained with):
  timm         shorter side floor(S/0.9) bicubic, center crop S, mean/std 0.5
  torchvision  shorter side S*256/224 bilinear, center crop S, ImageNet mean/std
  hf           squash to SxS bilinear, mean/std 0.5
  deit         as timm, with ImageNet mean/std

)";

struct Parsed {
  CommonOptions common;
  ClassifyCommandOptions classify;
  ExplainCommandOptions explain;
};

// The whole command tree. classify's options are declared on the top level too, so that
// `vit-classify IMAGES` is `vit-classify classify IMAGES`.
void declare(CLI::App& app, CLI::App*& explain, Parsed& p) {
  app.description("Classify images with a Vision Transformer (ViT). Results go to stdout, logs to stderr.");
  app.footer(std::string(kExamples) + exit_status_help());
  app.set_version_flag("--version", std::string("vit-classify ") + VIT_CLASSIFY_VERSION);
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a repeated option: the last wins
  app.require_subcommand(0, 1);
  declare_common_options(app, p.common);
  declare_classify_options(app, p.classify);
  CLI::App* classify = app.add_subcommand("classify", "Classify images (the default command)");
  classify->footer(std::string(kExamples) + exit_status_help());
  declare_common_options(*classify, p.common);
  declare_classify_options(*classify, p.classify);
  explain = app.add_subcommand("explain", "Pictures of what the model looks at for one image");
  explain->description(
      "Pictures of what the model looks at for one image: patches, position embeddings, attention per "
      "head, attention rollout and the prediction, with an index.html.");
  explain->footer(std::string(explain_help_footer()) + "\n" + exit_status_help());
  declare_common_options(*explain, p.common);
  declare_explain_options(*explain, p.explain);
}

}  // namespace

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, std::istream* in) {
  Parsed p;
  CLI::App app{"vit-classify", "vit-classify"};
  CLI::App* explain = nullptr;
  declare(app, explain, p);
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
    err << "vit-classify: error: " << e.what() << "\nRun with --help for usage.\n";
    return static_cast<int>(ExitCode::Usage);
  }
  ScopedLogger logger(err, p.common.log.verbose, p.common.log.quiet);
  try {
    if (explain->parsed()) return run_explain_command(p.common, p.explain, out);
    return run_classify(p.common, p.classify, out, err, in);
  } catch (...) {
    return exit_status_for_current_exception();
  }
}

}  // namespace vit
