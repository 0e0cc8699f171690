// CLIP's text tower (open_clip's TextTransformer, as its CLIP class holds it): token and
// position embeddings, pre-norm blocks with causal attention, ln_final, the end-of-text token's
// features, the text projection. Registered under the canonical "text.*" names that the family
// table maps open_clip's onto (names.cpp), without the "text." prefix.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "vit/model/config.h"
#include "vit/model/layers.h"

namespace vit {

struct TextTowerConfig {
  int64_t vocabulary = 49408;
  int64_t context = 77;  // rows of the position embeddings: the longest prompt in tokens
  int64_t width = 512;
  int64_t heads = 8;
  int64_t depth = 12;
  int64_t mlp_dim = 2048;
  int64_t embed_dim = 512;  // the projection's output: the joint image-text space
  bool proj_bias = false;   // text_projection as an nn.Linear with bias (open_clip proj_bias)
  bool layer_scale = false;
  Activation act = Activation::Gelu;
  double eps = 1e-5;  // torch.nn.LayerNorm's default, which open_clip uses
  std::string describe() const;
};

// One pre-norm block with causal self-attention: x + attn(norm1(x)), x + mlp(norm2(x)).
class TextBlockImpl : public torch::nn::Module {
 public:
  explicit TextBlockImpl(const TextTowerConfig& c);
  // x (B, T, W) -> (B, T, W); token t attends to tokens 0..t.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& causal_mask);

  int64_t heads;
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  Linear qkv{nullptr}, proj{nullptr};  // registered as attn.qkv, attn.proj
  LayerScale ls1{nullptr}, ls2{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(TextBlock);

class TextTowerImpl : public torch::nn::Module {
 public:
  explicit TextTowerImpl(const TextTowerConfig& c);
  // Prompts as token ids from the start token to the end-of-text token inclusive (no padding;
  // each at most `context` long) -> (n, embed_dim) features, not normalised. Prompts of
  // different lengths are batched padded at the end: with the causal mask, tokens after a
  // prompt's end-of-text token change nothing before it.
  torch::Tensor forward(const std::vector<std::vector<int32_t>>& prompts);
  const TextTowerConfig& config() const { return cfg_; }

  torch::Tensor token_embedding;  // (vocabulary, W)
  torch::Tensor pos_embed;        // (context, W)
  torch::Tensor logit_scale;      // () the log of the similarity's temperature
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};  // ln_final
  Linear proj{nullptr};                // (embed_dim, W)

 private:
  TextTowerConfig cfg_;
};
TORCH_MODULE(TextTower);

// The text tower from its canonical tensors ("text.*", prefix included; each released from
// `tensors` once copied), its head count (0: width / 64, open_clip's default head width) and
// activation. Throws ModelError naming a missing, extra or misshapen tensor.
TextTower load_text_tower(std::map<std::string, torch::Tensor>& tensors, int64_t heads, Activation act, double eps);

}  // namespace vit
