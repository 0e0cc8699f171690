// The Vision Transformer (Dosovitskiy et al. 2020) and the variants timm, DeiT, CLIP, SigLIP,
// BEiT-3, Dinov2 and XCiT published, as one LibTorch module built from a ViTConfig. Submodules and
// parameters are registered under timm's checkpoint names (patch_embed.proj, cls_token,
// reg_token, pos_embed, norm_pre, blocks.{i}..., norm, attn_pool, fc_norm, head), so
// named_parameters() is the canonical weight layout that weights.cpp maps every family onto.
// The encoder's parts are in layers.h; the module knows nothing about files (see weights.h).
#pragma once

#include <torch/torch.h>

#include <vector>

#include "vit/model/config.h"
#include "vit/model/eva_layers.h"
#include "vit/model/hybrid_stem.h"
#include "vit/model/layers.h"
#include "vit/model/xcit_layers.h"

namespace vit {

// Conv2d(C, D, kernel P, stride P), then flatten: (B, C, H, W) -> (B, N, D). Hybrid ViTs run
// their ResNet stem first ("backbone") and project its features.
class PatchEmbedImpl : public torch::nn::Module {
 public:
  explicit PatchEmbedImpl(const ViTConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x);

  HybridBackbone backbone{nullptr};  // hybrid ViTs only
  torch::nn::Conv2d proj{nullptr};   // weight (D, C, P, P), bias (D) unless cfg.patch_bias is off
};
TORCH_MODULE(PatchEmbed);

// What one image's pass through the model leaves behind for `explain`.
struct ForwardTrace {
  std::vector<torch::Tensor> attentions;  // per block, (B, heads, T, T)
  torch::Tensor tokens;                   // the last block's output before the final norm, (B, T, D)
  torch::Tensor pool_attention;           // Pool::Map: the latent query's weights, (B, heads, 1, N)
};

class VisionTransformerImpl : public torch::nn::Module {
 public:
  explicit VisionTransformerImpl(const ViTConfig& cfg);

  // images (B, 3, S, S) normalised -> logits (B, classes).
  torch::Tensor forward(const torch::Tensor& images);
  // Same, and fills trace (T = prefix tokens + N).
  torch::Tensor forward_traced(const torch::Tensor& images, ForwardTrace& trace);

  const ViTConfig& config() const { return cfg_; }
  // What explain compares positions by: pos_embed (pos_tokens, D), or, for a model with
  // relative positions only (BEiT, relpos), each patch's first-block bias towards every patch,
  // averaged over the heads, (N, N).
  torch::Tensor position_vectors();
  // Every linear layer's products one image at a time (LinearImpl::per_image): an image's
  // numbers the same bits in any batch (--deterministic). Off by default: slower at batch 8.
  void set_per_image(bool on);
  // The position embeddings added to the patches, (pos_tokens, D): the learned table, or XCiT's
  // Fourier encoding at the grid the model runs at.
  torch::Tensor position_embeddings();

  PatchEmbed patch_embed{nullptr};
  XcitPatchEmbed xcit_embed{nullptr};  // XCiT: registered as "patch_embed" instead
  FourierEncoding xcit_pos{nullptr};   // XCiT: registered as "pos_embed" (no learned table)
  torch::Tensor cls_token;             // (1, 1, D) unless cfg.class_token is off
  torch::Tensor dist_token;            // (1, 1, D), DeiT distilled only
  torch::Tensor reg_token;             // (1, R, D), register tokens only
  torch::Tensor pos_embed;             // (1, pos_tokens, D) unless cfg.abs_pos is off
  EvaRope rope{nullptr};               // rotary position embeddings (eva.py) only
  torch::nn::LayerNorm norm_pre{nullptr};
  torch::nn::ModuleList blocks{nullptr};             // EncoderBlockImpl: Block, ParallelBlock, EvaBlock, ...
  torch::nn::ModuleList blocks_token_only{nullptr};  // CaiT's class-attention blocks, after `blocks`
  // XCiT: ClassAttentionBlock over [class, patches] after `blocks` (which see the patches only).
  torch::nn::ModuleList cls_attn_blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};     // unless cfg.final_norm is off
  AttentionPool attn_pool{nullptr};       // Pool::Map only
  torch::nn::LayerNorm fc_norm{nullptr};  // cfg.fc_norm only
  Linear head{nullptr};                   // (classes, head_in)
  Linear head_dist{nullptr};              // (classes, D), DeiT distilled with two heads only

 private:
  void build_xcit(const ViTConfig& cfg);
  torch::Tensor embed(const torch::Tensor& images);
  torch::Tensor pool(const torch::Tensor& x, ForwardTrace* trace);
  torch::Tensor run(const torch::Tensor& images, ForwardTrace* trace);
  ViTConfig cfg_;
};
TORCH_MODULE(VisionTransformer);

}  // namespace vit
