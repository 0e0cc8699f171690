// A CLIP checkpoint's two towers: the image tower becomes the VisionTransformer (CLIP's ln_pre,
// class-token pooling, ln_post and projection as its head), the text tower a TextTower
// (clip_text.h). What open_clip_config.json says is applied here.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>

#include "vit/model/clip_text.h"
#include "vit/model/hints.h"

namespace vit {

// Before the image tower's blueprint is inferred from `tensors` (canonical names): moves the
// text tower's tensors ("text.*") out into `text`, gives the projection head a zero bias (CLIP's
// has none), and sets the hints open_clip's config gives (heads, LayerNorm epsilon, QuickGELU,
// pooling, input size). Throws ModelError for a setting of open_clip's this tool does not run.
void prepare_clip(std::map<std::string, torch::Tensor>& tensors, std::map<std::string, torch::Tensor>& text,
                  ModelHints& hints);

// The text tower from the tensors prepare_clip moved out, with the same hints.
TextTower build_clip_text_tower(std::map<std::string, torch::Tensor>& text, const ModelHints& hints);

}  // namespace vit
