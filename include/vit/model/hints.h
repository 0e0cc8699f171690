// What the files published beside the weights say about the model: config.json (Hugging
// Face's, or timm's hub config with its pretrained_cfg) and preprocessor_config.json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vit/image/preprocess.h"
#include "vit/io/labels.h"

namespace vit {

struct ModelHints {
  int64_t heads = 0;  // 0 = unknown
  std::optional<double> eps;
  std::optional<Labels> labels;
  std::optional<PreprocessConfig> preprocess;  // the preprocessing the authors published
  std::vector<std::string> sources;            // files read, for logs
};

// Reads <dir of weights>/config.json and preprocessor_config.json where present.
// Throws ModelError for invalid JSON or fields of the wrong type.
ModelHints read_model_hints(const std::string& weights_path);

}  // namespace vit
