// What a timm architecture name ("vit_base_patch16_clip_224", "deit3_small_patch16_384")
// says about a model that its tensors do not: the head count, the LayerNorm epsilon, the
// block arrangement and the activation. timm's hub config.json names the architecture; these
// facts are what timm's model definitions pass for each name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "vit/model/config.h"

namespace vit {

struct ArchitectureFacts {
  int64_t heads = 0;  // 0 = not told by the name
  std::optional<double> eps;
  std::optional<BlockKind> block;
  std::optional<Activation> act;
  std::optional<bool> xcit_tokens_norm;  // xcit_*: False for nano, True for the others (timm's xcit.py)
};

ArchitectureFacts timm_architecture_facts(const std::string& architecture);

// The head count timm's sizes give a token width (Ti 192: 3, S 384: 6, B 768: 12, L 1024: 16,
// H 1280: 16, so400m 1152: 16, ...); 0 for a width none of them has.
int64_t default_heads_for_dim(int64_t dim);

}  // namespace vit
