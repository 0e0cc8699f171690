// From a weights file on disk to a ready VisionTransformer: reads the tensors (checkpoint.h),
// maps them to canonical names (names.h), infers the configuration from their shapes plus
// the hints beside the file (hints.h), checks every tensor's presence and shape, and copies
// the weights in.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>

#include "vit/io/checkpoint_format.h"
#include "vit/model/config.h"
#include "vit/model/hints.h"
#include "vit/model/names.h"
#include "vit/model/vision_transformer.h"

namespace vit {

// The configuration implied by canonical tensor shapes (heads from hints, else by width).
ViTConfig infer_config(const std::map<std::string, torch::Tensor>& canonical, const ModelHints& hints);

struct LoadedViT {
  VisionTransformer model{nullptr};
  Family family = Family::Timm;
  FileFormat format = FileFormat::Safetensors;
  std::string wrapper_key;
};

// Reads, maps, checks and builds the module (float32, CPU, eval mode). heads_override (--heads)
// is for weights whose head count nothing else tells; one that contradicts config.json is
// refused. Throws ModelError.
LoadedViT load_vit(const std::string& path, const ModelHints& hints, int64_t heads_override = 0);

}  // namespace vit
