// The ViTs of timm's eva.py (EVA-02, EVA giant, ROPE-ViT axial and mixed, timm's SBB rope
// models): their encoder block, 2-D rotary position embeddings as timm computes them, their
// configuration read from the tensors and the architecture name, and their parameter shapes.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "vit/model/config.h"
#include "vit/model/hints.h"
#include "vit/model/layers.h"

namespace vit {

// Whether `key` is one of eva.py's model_args that read_eva reads (hints.cpp keeps them, as
// JSON text, in ModelHints::eva_args).
bool is_eva_model_arg(const std::string& key);

// EVA's part of the configuration: the block layout from the tensors present (attn.q_bias,
// attn.q_proj, mlp.fc1_g, rope.freqs, no pos_embed), the rotary settings from timm's
// architecture name and model_args. Throws ModelError for an eva.py model whose rotary
// settings nothing tells, and for the variants not built here (post-norm EVA blocks, ...).
void read_eva(const std::map<std::string, torch::Tensor>& t, const ModelHints& hints, ViTConfig& c);

// The shapes of one EvaBlock's parameters under prefix b ("blocks.3."), and of rope.freqs.
void eva_block_shapes(const ViTConfig& c, const std::string& b, std::map<std::string, std::vector<int64_t>>& s);
void eva_shapes(const ViTConfig& c, std::map<std::string, std::vector<int64_t>>& s);

// timm's RotaryEmbeddingCat table for a g x g grid, float32 (g*g, 2 hd): [sin | cos], each
// frequency repeated for its interleaved pair, the y-frequencies first ('ij') or x ('xy').
torch::Tensor rope_cat_table(const ViTConfig& c, int64_t g);

// x (B, h, N, hd) rotated by table (N or h x N, 2 hd) as timm's apply_rot_embed_cat.
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& table, bool rotate_half);

// The rotary position embeddings of a model, for the grid it runs at. Cat: one table for all
// blocks (a buffer, computed here). Mixed: the learned frequencies "rope.freqs" (2, depth,
// heads, hd/2), each block's table (heads, N, 2 hd) computed from them when asked.
class EvaRopeImpl : public torch::nn::Module {
 public:
  explicit EvaRopeImpl(const ViTConfig& cfg);
  torch::Tensor table(int64_t block) const;
  // What explain shows as the patches' positions when there is no pos_embed: each patch's
  // angles as [sin, cos] per frequency and head (block 0's for Mixed), (N, D); the cosine
  // similarity of two rows is the mean cosine of their angle differences, the relative-position
  // kernel the rotation puts into q.k.
  torch::Tensor position_rows() const;

  Rope kind;
  int64_t heads;
  torch::Tensor freqs;      // Mixed only
  torch::Tensor cat_table;  // Cat only, (N, 2 hd)
  torch::Tensor t_x, t_y;   // Mixed: each patch's x and y position (N)
};
TORCH_MODULE(EvaRope);

// timm EvaAttention / AttentionRope: q, k, v from a fused qkv (its bias whole, or q_bias and
// v_bias with k's fixed at 0) or from q_proj/k_proj/v_proj; q and k of the patch tokens
// rotated; optional LayerNorm on the output before proj (scale_attn_inner).
class EvaAttentionImpl : public torch::nn::Module {
 public:
  explicit EvaAttentionImpl(const ViTConfig& cfg);
  // x (B, T, D), table as EvaRope::table or undefined -> (B, T, D).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& table, torch::Tensor* attn_out);

  int64_t heads, prefix;
  bool rotate_half;
  Linear qkv{nullptr}, q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr};
  torch::Tensor q_bias, v_bias;
  torch::nn::LayerNorm norm{nullptr};
  Linear proj{nullptr};
};
TORCH_MODULE(EvaAttention);

// timm SwiGLU (EVA-02 B/L): fc2(norm(silu(fc1_g(x)) * fc1_x(x))).
class EvaSwiGluImpl : public torch::nn::Module {
 public:
  EvaSwiGluImpl(const ViTConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x);

  Linear fc1_g{nullptr}, fc1_x{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  Linear fc2{nullptr};
};
TORCH_MODULE(EvaSwiGlu);

// timm EvaBlock (pre-norm): x + gamma_1 attn(norm1(x), rope), x + gamma_2 mlp(norm2(x)); the
// gains are registered as ls1/ls2 (timm's gamma_1/gamma_2 are mapped there by name).
class EvaBlockImpl : public EncoderBlockImpl {
 public:
  EvaBlockImpl(const ViTConfig& cfg, int64_t index, EvaRope rope);
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* attn_out = nullptr) override;

  int64_t index;
  EvaRope rope{nullptr};  // shared with the model, not registered here
  torch::nn::LayerNorm norm1{nullptr};
  EvaAttention attn{nullptr};
  LayerScale ls1{nullptr};
  torch::nn::LayerNorm norm2{nullptr};
  Mlp mlp{nullptr};           // GELU Mlp or packed SwiGLU (GluMlp)
  EvaSwiGlu swiglu{nullptr};  // registered as "mlp" when the SwiGLU is split
  LayerScale ls2{nullptr};
};
TORCH_MODULE(EvaBlock);

}  // namespace vit
