// The blueprint of a Vision Transformer: sizes only, no weights and no compute.
// Filled in from checkpoint tensor shapes plus, where present, a config.json (see hints.h).
#pragma once

#include <cstdint>
#include <string>

namespace vit {

struct ViTConfig {
  int64_t image_size = 224;  // input side in pixels (square)
  int64_t patch_size = 16;   // P: side of one patch
  int64_t in_chans = 3;
  int64_t dim = 768;       // D: token width
  int64_t depth = 12;      // L: number of encoder blocks
  int64_t heads = 12;      // attention heads; D % heads == 0
  int64_t mlp_dim = 3072;  // hidden width of the MLP
  int64_t num_classes = 1000;
  double eps = 1e-6;       // LayerNorm epsilon
  bool distilled = false;  // DeiT: extra dist_token and head_dist

  int64_t grid() const { return image_size / patch_size; }  // patches per side
  int64_t num_patches() const { return grid() * grid(); }   // N
  int64_t num_prefix_tokens() const { return distilled ? 2 : 1; }
  int64_t head_dim() const { return dim / heads; }
  std::string describe() const;  // "ViT D=192 L=12 H=3 P=16 224px ..."
};

// The usual head count of the standard sizes (Ti 3, S 6, B 12, L 16, H 16), from the token
// width or from a timm architecture name ("vit_base_patch16_224"); 0 when unknown.
int64_t default_heads_for_dim(int64_t dim);
int64_t default_heads_for_timm_name(const std::string& architecture);

// The side of the square patch grid behind `tokens` position embeddings of which `prefix`
// are class/distillation tokens; 0 when the rest is not a square number.
int64_t grid_side(int64_t tokens, int64_t prefix);

}  // namespace vit
