// Loading the model for a subcommand; see include/vit/app/model_setup.h.
#include "vit/app/model_setup.h"

#include <spdlog/spdlog.h>

#include <cstdlib>

#include "vit/app/model_discovery.h"
#include "vit/errors.h"

namespace vit {

Labels choose_labels(const std::optional<Labels>& user, const ModelInfo& info, const std::string& user_path) {
  const Labels& labels = user ? *user : info.labels ? *info.labels : Labels::imagenet1k();
  if (info.num_classes > 0 && static_cast<size_t>(info.num_classes) != labels.size()) {
    const std::string source = user          ? "--labels " + user_path
                               : info.labels ? "the config.json beside the model"
                                             : "the built-in ImageNet-1k list";
    spdlog::warn("the model has {} classes but {} names {}: printing class numbers instead of names{}",
                 info.num_classes, source, labels.size(),
                 user ? "" : " (pass --labels FILE with " + std::to_string(info.num_classes) + " lines)");
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

}  // namespace

LoadedModel load_model(const ModelOptions& o) {
  const std::optional<Labels> user_labels =
      o.labels_path.empty() ? std::nullopt : std::optional<Labels>(Labels::from_file(o.labels_path));
  EngineOptions eo;
  const ResolvedModel model = resolve_model({o.model, o.offline});
  eo.model_path = model.path;
  eo.device = o.device;
  eo.heads = o.heads;
  eo.image_size = o.image_size;
  eo.precision = o.precision;
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
  m.labels = choose_labels(user_labels, info, o.labels_path);
  return m;
}

}  // namespace vit
