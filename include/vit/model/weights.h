// From a weights file on disk to a ready VisionTransformer: reads the tensors (checkpoint.h),
// maps them to canonical names (names.h), infers the configuration from their shapes plus
// the hints beside the file (blueprint.h), checks every tensor's presence and shape, and
// copies the weights in (position embeddings resampled when the model runs at another size).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>

#include "vit/io/checkpoint_format.h"
#include "vit/model/blueprint.h"
#include "vit/model/checkpoint.h"
#include "vit/model/clip_text.h"
#include "vit/model/config.h"
#include "vit/model/hints.h"
#include "vit/model/linear.h"
#include "vit/model/names.h"
#include "vit/model/vision_transformer.h"

namespace vit {

struct LoadedViT {
  VisionTransformer model{nullptr};
  Family family = Family::Timm;
  FileFormat format = FileFormat::Safetensors;
  std::string wrapper_key;
  TextTower text{nullptr};  // CLIP checkpoints (a family with two towers): the text tower
};

struct LoadOptions {
  // --heads: for weights whose head count nothing else tells; one that contradicts
  // config.json is refused.
  int64_t heads = 0;
  // --image-size: run at this side, position embeddings resampled (0 = the model's own).
  int64_t image_size = 0;
  // Called for each linear layer but the classifier head(s) as soon as its weight and bias are
  // loaded (--precision converts it there, so the float32 model is never whole in memory).
  // When set, the module's parameters are not randomly initialised first (all are loaded).
  std::function<void(LinearImpl&)> on_linear_loaded;
  // --deterministic: the image tower's products one image at a time (VisionTransformer::set_per_image).
  bool per_image = false;
};

// Reads, maps, checks and builds the module (float32, CPU, eval mode). Throws ModelError.
LoadedViT load_vit(const std::string& path, const ModelHints& hints, const LoadOptions& options = {});
// The same from tensors already read (a TorchScript CLIP's parameters and buffers); `path`
// names them in errors.
LoadedViT load_vit(RawCheckpoint raw, const std::string& path, const ModelHints& hints, const LoadOptions& options);

}  // namespace vit
