// The `explain` subcommand; see include/vit/cli_explain.h.
#include "vit/cli_explain.h"

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <ostream>

#include "vit/engine.h"
#include "vit/errors.h"
#include "vit/explain.h"
#include "vit/output.h"
#include "vit/preprocess.h"

namespace vit {

namespace {

const char* kExplainFooter = R"(Writes into DIR (created if missing):
  input.png                  the model's input after resize and crop
  patches.png                that input cut into its patches, in reading order
  position_embedding.png     cosine similarity of the patches' position embeddings
  attention/layerL_heads.png the class token's attention over the patches, per head
  attention/layerL_headH_matrix.png   one head's full attention matrix
  rollout.png                attention rollout over all layers
  result.png                 the top-k classes
  index.html                 all of them with captions (open it in a browser)
  explain.json               the numbers (with --format json)
Layers and heads are numbered from 1. Existing files are replaced only with --force.

Example:
  vit-classify explain -m models/vit_tiny_patch16_224.safetensors cat.jpg -o cat-explained)";

std::string base_name(const std::string& p) { return p.substr(p.find_last_of('/') + 1); }

int explain(const CliOptions& c, const ExplainCliOptions& x, std::ostream& out) {
  if (c.inputs.size() != 1)
    throw UsageError("explain takes exactly one image, got " + std::to_string(c.inputs.size()));
  if (x.out_dir.empty()) throw UsageError("explain: no output folder given (pass -o DIR)");
  if (x.layer < 0) throw UsageError("--layer must be 1 or more (0 = the last layer), got " + std::to_string(x.layer));
  if (x.head < 1) throw UsageError("--head must be 1 or more, got " + std::to_string(x.head));
  const Format format = parse_format(c.format);
  ExplainOptions eo;
  eo.out_dir = x.out_dir;
  eo.layer = x.layer - 1;
  eo.head = x.head - 1;
  eo.fusion = parse_head_fusion(x.head_fusion);
  eo.discard_ratio = x.discard_ratio;
  eo.force = x.force;
  eo.json = format == Format::Json;
  eo.top_k = c.top_k;
  eo.image_name = c.inputs[0];
  const std::optional<Labels> user_labels = c.labels_path.empty() ? std::nullopt : std::optional<Labels>(Labels::from_file(c.labels_path));

  Engine engine(engine_options(c));
  const ModelInfo& info = engine.info();
  spdlog::info("model {} ({}, {} names): {}", info.path, info.format, info.family, info.description);
  if (!info.can_explain)
    throw ModelError("cannot explain with '" + info.path + "': " +
                     (info.format == "torchscript" ? "it is a TorchScript module, whose attention weights cannot be asked for; "
                                                     "use the weights file (safetensors or .pth) instead"
                                                   : "this model does not expose its attention"));
  const PreprocessConfig pre = resolve_preprocess(c, info);
  spdlog::info("{}", pre.describe());
  eo.preprocess = pre.describe();
  eo.model_name = base_name(info.path);
  const Labels labels = choose_labels(user_labels, info);

  const cv::Mat rgb = resize_and_crop(decode_image(c.inputs[0]), pre);  // (S, S) 8-bit RGB
  if (rgb.cols != info.image_size || rgb.rows != info.image_size)
    throw UsageError("the preprocessing gives " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) +
                     " pixels but the model takes " + std::to_string(info.image_size) + "x" + std::to_string(info.image_size) +
                     "; check --resize/--crop");
  std::vector<float> chw(static_cast<size_t>(3) * rgb.rows * rgb.cols);
  normalize_chw(rgb, pre, chw.data());
  const AttentionTrace trace = engine.trace_attention(chw.data());
  const ExplainResult r = run_explain(rgb, trace, info.patch_size, labels, eo);
  spdlog::info("wrote {} files into {}", r.files.size(), eo.out_dir);

  RecordWriter writer(format, c.top_k, eo.model_name, false);
  Record rec;
  rec.file = c.inputs[0];
  rec.ok = true;
  rec.predictions = r.top;
  out << writer.header() << writer.render(rec) << std::flush;
  return static_cast<int>(ExitCode::Ok);
}

}  // namespace

void declare_explain_options(CLI::App& sub, ExplainCliOptions& o) {
  sub.description("Pictures of what the model looks at for one image: patches, position embeddings, attention per head, "
                  "attention rollout and the prediction, with an index.html.");
  sub.footer(kExplainFooter);
  if (CLI::Option* images = sub.get_option_no_throw("images")) images->description("The image to explain (one)");
  sub.add_option("-o,--output", o.out_dir, "Folder for the pictures (created if missing)")->required();
  sub.add_option("--layer", o.layer, "Layer for the per-head pictures, numbered from 1 (default: the last)");
  sub.add_option("--head", o.head, "Head for the attention matrix picture, numbered from 1 (default 1)");
  sub.add_option("--head-fusion", o.head_fusion, "How rollout combines heads: mean, max or min (default mean)")
      ->check(CLI::IsMember({"mean", "max", "min"}));
  sub.add_option("--discard-ratio", o.discard_ratio, "Rollout: share of the weakest attention weights dropped, in [0, 1) (default 0)")
      ->check(CLI::Range(0.0, 0.999999));
  sub.add_flag("--force", o.force, "Replace files that already exist in the output folder");
}

int run_explain_command(const CliOptions& common, const ExplainCliOptions& o, std::ostream& out) {
  try {
    return explain(common, o, out);
  } catch (...) {
    return exit_status_for_current_exception();
  }
}

}  // namespace vit
