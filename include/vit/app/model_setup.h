// The steps every model-running subcommand takes before its work, in one order: read the
// --labels file (a bad one fails before the model loads), load the model, choose and check
// the preprocessing, choose the class names to print.
#pragma once

#include <memory>
#include <optional>

#include "vit/app/options.h"
#include "vit/image/preprocess.h"
#include "vit/io/labels.h"
#include "vit/model/engine.h"

namespace vit {

struct LoadedModel {
  std::unique_ptr<Engine> engine;
  PreprocessConfig preprocess;  // passes check_preprocess_fits for the model
  Labels labels;
};

// Throws UsageError, ModelError, DeviceError.
LoadedModel load_model(const ModelOptions& o);

// --labels, else the model's config.json labels, else ImageNet-1k; warns on a count mismatch.
Labels choose_labels(const std::optional<Labels>& user, const ModelInfo& info);

}  // namespace vit
