// The steps every model-running subcommand takes before its work, in one order: read the
// --labels file (a bad one fails before the model loads), load the model, choose and check
// the preprocessing, choose the class names to print.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "vit/app/model_discovery.h"
#include "vit/app/options.h"
#include "vit/image/preprocess.h"
#include "vit/io/labels.h"
#include "vit/model/engine.h"

namespace vit {

struct LoadedModel {
  std::unique_ptr<Engine> engine;
  PreprocessConfig preprocess;  // passes check_preprocess_fits for the model
  Labels labels;
  HubOrigin hub;  // for a model named by repository id; repo_id "" otherwise
};

// Throws UsageError, ModelError, DeviceError.
LoadedModel load_model(const ModelOptions& o);

// The labels file the user gave (user_path: the option and file, for messages), else the
// model's config.json labels, else ImageNet-1k. A list
// whose length is not the model's class count names no class (see top_k): says so once.
Labels choose_labels(const std::optional<Labels>& user, const ModelInfo& info, const std::string& user_path);

}  // namespace vit
