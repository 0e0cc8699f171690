// The explain subcommand; see include/vit/app/explain_command.h.
#include "vit/app/explain_command.h"

#include <spdlog/spdlog.h>

#include <ostream>

#include "vit/app/exit_status.h"
#include "vit/app/model_setup.h"
#include "vit/app/process_state.h"
#include "vit/app/record_sink.h"
#include "vit/app/records_job.h"
#include "vit/errors.h"
#include "vit/explain/report.h"
#include "vit/image/decode.h"
#include "vit/io/files.h"
#include "vit/io/sha256.h"

namespace vit {

const char* explain_help_footer() {
  return R"(Writes into DIR (-o; default IMAGE's name + "-explained"; created if missing):
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

Examples:
  vit-classify explain cat.jpg                  (writes cat-explained/)
  vit-classify explain -m models/vit_tiny_patch16_224.safetensors cat.jpg -o pictures --layer 6
)";
}

namespace {

ExplainOptions explain_options(const CommonOptions& c, const ExplainCommandOptions& x) {
  ExplainOptions eo;
  eo.out_dir = x.out_dir.empty() ? default_explain_folder(x.images.at(0)) : x.out_dir;
  eo.layer = x.layer ? *x.layer - 1 : -1;
  eo.head = x.head - 1;
  eo.fusion = x.fusion;
  eo.head_scale = x.head_scale;
  eo.discard_ratio = x.discard_ratio;
  eo.force = x.force;
  eo.json = c.output.format == RecordFormat::Json;
  eo.top_k = c.output.top_k;
  eo.image_name = x.images.at(0);
  return eo;
}

void check_can_explain(const ModelInfo& info) {
  if (info.can_explain) return;
  throw ModelError("cannot explain with '" + info.path + "': " +
                   (info.format == "torchscript"
                        ? "it is a TorchScript module, whose attention weights cannot be asked for; "
                          "use the weights file (safetensors or .pth) instead"
                        : "this model does not expose its attention"));
}

}  // namespace

std::string default_explain_folder(const std::string& image) {
  std::string name = image == "-" ? "stdin" : base_name(image);
  const auto dot = name.find_last_of('.');
  if (dot != std::string::npos && dot > 0) name.erase(dot);
  return (name.empty() ? "image" : name) + "-explained";
}

int run_explain_command(const CommonOptions& c, const ExplainCommandOptions& x, std::ostream& out, std::ostream& err) {
  if (x.images.size() != 1) throw UsageError("explain takes exactly one image, got " + std::to_string(x.images.size()));
  ExplainOptions eo = explain_options(c, x);
  ScopedMathThreads threads(c.model.threads);
  const LoadedModel m = load_model(c.model);
  const ModelInfo& info = m.engine->info();
  check_can_explain(info);
  check_explain(eo, info.depth, info.heads);  // --layer, --head, existing files: before any work
  eo.preprocess = m.preprocess.describe();
  eo.model_name = m.hub.repo_id.empty() ? base_name(info.path) : m.hub.repo_id;  // "model.safetensors" says nothing

  const cv::Mat rgb =
      resize_and_crop(decode_image(eo.image_name, nullptr, c.max_pixels), m.preprocess);  // (S, S) 8-bit RGB
  std::vector<float> chw(static_cast<size_t>(3) * rgb.rows * rgb.cols);
  normalize_chw(rgb, m.preprocess, chw.data());
  const AttentionTrace trace = m.engine->trace_attention(chw.data());
  const ExplainResult r = run_explain(rgb, trace, info.patch_size, m.labels, eo);
  spdlog::info("wrote {} files into {}", r.files.size(), eo.out_dir);
  if (!c.log.quiet) err << "vit-classify: wrote " << eo.out_dir << "/index.html (open it in a browser)\n" << std::flush;

  RecordWriter writer(c.output.format, capped_top_k(c.output.top_k, info), info.path,
                      c.output.format == RecordFormat::Json ? sha256_file(info.path) : "", false, c.output.detail);
  Record rec;
  rec.file = eo.image_name;
  rec.ok = true;
  rec.predictions = r.top;
  for (Prediction& p : rec.predictions) p.logit = trace.logits.at(static_cast<size_t>(p.index));
  RecordSink(out, "", false).write(writer.header() + writer.render(rec));
  return static_cast<int>(ExitCode::Ok);
}

}  // namespace vit
