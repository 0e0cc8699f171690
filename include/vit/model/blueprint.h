// From canonical tensors (timm names, names.h) and what the config files say (hints.h) to the
// ViTConfig that builds exactly those tensors: every part is chosen by the tensors present
// (register tokens, layer scale, q/k norms, fc_norm, attention pooling, ...), every size by
// their shapes, and only what no tensor shows (heads, epsilon, pooling of a class-token
// model, the block arrangement, the activation) by the config. Also the shape each parameter
// must have, checked before anything is allocated.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "vit/model/config.h"
#include "vit/model/hints.h"
#include "vit/model/names.h"

namespace vit {

// The largest input side: asked for by --image-size, and asked for by the model's own files
// (config.json's input_size, the stored position embeddings) without --image-size.
constexpr int64_t kMaxImageSize = 16384;
constexpr int64_t kMaxModelImageSize = 4096;

// image_size > 0 runs the model at that side (--image-size), resampling the position
// embeddings; otherwise hints.input_size where set, else the side they were stored for.
// Throws ModelError naming the tensor or config field that does not fit, or a side over
// kMaxModelImageSize that --image-size did not ask for.
ViTConfig infer_config(const std::map<std::string, torch::Tensor>& canonical, const ModelHints& hints, Family family,
                       int64_t image_size = 0);

// Every parameter's shape under its canonical name, with pos_embed at its stored grid (as in
// the file): what the module will allocate, known before it does.
std::map<std::string, std::vector<int64_t>> expected_shapes(const ViTConfig& cfg);

}  // namespace vit
