// The parts of a Vision Transformer's encoder as LibTorch modules: attention, MLP, layer
// scale, the encoder blocks and attention pooling. Each part registers its submodules and
// parameters under timm's checkpoint names (attn.qkv, attn.q_norm, ls1.gamma, mlp.fc1, ...),
// and a part that a configuration leaves out is not registered at all, so named_parameters()
// lists exactly the tensors a checkpoint of that configuration holds.
#pragma once

#include <torch/torch.h>

#include "vit/model/config.h"
#include "vit/model/linear.h"

namespace vit {

torch::nn::LayerNorm layer_norm(int64_t width, double eps);
Linear linear(int64_t in, int64_t out, bool bias);

// x * rsqrt(mean(x^2) + eps) * weight over the last dimension (timm RmsNorm).
class RmsNormImpl : public torch::nn::Module {
 public:
  RmsNormImpl(int64_t width, double eps);
  torch::Tensor forward(const torch::Tensor& x) const;
  double eps;
  torch::Tensor weight;
};
TORCH_MODULE(RmsNorm);

// Differential attention (Ye et al. 2024; timm DiffAttention and DiffParallelScalingBlock):
// heads*2 half-width query/key heads give two softmax maps per head, their difference
// A1 - lambda A2 weighs v, and the result is RMS-normed and scaled by (1 - lambda_init), with
// lambda = exp(lq1 . lk1) - exp(lq2 . lk2) + lambda_init and lambda_init = 0.8 - 0.6
// exp(-0.3 block). Its parameters are registered on the owner module (timm's names:
// lambda_q1, ..., or lambda_a/lambda_b, and sub_norm).
struct DiffAttentionParts {
  DiffAttentionParts() = default;
  DiffAttentionParts(torch::nn::Module& owner, const ViTConfig& cfg, int64_t block);
  // q, k (B, 2h, T, hd/2), v (B, h, T, hd) -> (B, h, T, hd). attn_out gets the weights the
  // output is made of, for explain: the positive part of A1 - lambda A2, rows renormalised.
  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                       torch::Tensor* attn_out) const;

  double lambda_init = 0.8;
  torch::Tensor lambda_q1, lambda_k1, lambda_q2, lambda_k2, lambda_a, lambda_b;
  RmsNorm sub_norm{nullptr};
};

// Plain softmax attention on the CPU straight from (B, T, h, hd) views of the projections
// (rows of any stride, each head's hd values contiguous) into the merged (B, T, h * hd) output:
// softmax(q k^T / sqrt(hd) [+ bias]) v, the same products and softmax as attend() without the
// transposes into (B, h, T, hd) and back. One (batch, head) per task, the tasks spread over the
// threads: its weights (T x T) are made in a buffer of the thread's by one single-threaded oneDNN
// sgemm reading the rows in place (with a bias, (h, T, T) contiguous float, the head's bias is
// copied into the buffer first and the product added to it), softmaxed there, and multiplied
// into the output's rows while still in cache. Used by Attention and BEiT's biased attention.
torch::Tensor attend_rows(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                          const torch::Tensor& bias = {});

// Multi-head self-attention with a fused qkv projection (rows [q; k; v], head h at rows
// h*hd..h*hd+hd-1 of each). Optional: q/k LayerNorm per head, LayerNorm before proj. When
// attn_out is given, the softmax weights (B, heads, T, T) are stored there (explain).
class AttentionImpl : public torch::nn::Module {
 public:
  // block: the block's index (differential attention's lambda_init depends on it).
  AttentionImpl(const ViTConfig& cfg, int64_t block);
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* attn_out = nullptr);

  int64_t heads;
  DiffAttentionParts diff;  // differential attention only (diff.sub_norm set)
  Linear qkv{nullptr};
  torch::nn::LayerNorm q_norm{nullptr}, k_norm{nullptr};  // qk_norm only
  torch::nn::LayerNorm norm{nullptr};                     // attn_norm only
  Linear proj{nullptr};
};
TORCH_MODULE(Attention);

// The attention weights of q (B, h, Tq, d) over k (B, h, T, d), as timm writes them unfused:
// softmax((q * scale) k^T), scale = 1 / sqrt(d).
torch::Tensor attention_weights(const torch::Tensor& q, const torch::Tensor& k);
// Those weights applied to v (B, h, T, dv): (B, h, Tq, dv). Stores the weights in attn_out when given.
torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, torch::Tensor* attn_out);

// The configured nonlinearity on an MLP's hidden layer (SwiGLU halves the width).
torch::Tensor activate(const torch::Tensor& x, Activation act);

// fc2(norm(act(fc1(x)))); norm only with mlp_norm.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t dim, int64_t hidden, Activation act, bool bias, bool norm, double eps);
  torch::Tensor forward(const torch::Tensor& x);

  Activation act;
  Linear fc1{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  Linear fc2{nullptr};
};
TORCH_MODULE(Mlp);

// x * gamma, one learned gain per channel (timm LayerScale: "ls1.gamma").
class LayerScaleImpl : public torch::nn::Module {
 public:
  explicit LayerScaleImpl(int64_t dim);
  torch::Tensor forward(const torch::Tensor& x) { return x * gamma; }
  torch::Tensor gamma;
};
TORCH_MODULE(LayerScale);

// What every family's encoder block is to the model: tokens (B, T, D) in, (B, T, D) out; when
// attn_out is given, the attention weights explain draws, (B, heads, T, T), are stored there.
// VisionTransformer runs its `blocks` through this, so a family's block (EVA's rotary one,
// BEiT's relative-position one, ...) is a class of its own beside Block.
class EncoderBlockImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x, torch::Tensor* attn_out) = 0;
};

// One encoder block, pre-norm (the paper's) or post-norm (timm ResPostBlock), with optional
// layer scale.
class BlockImpl : public EncoderBlockImpl {
 public:
  BlockImpl(const ViTConfig& cfg, int64_t index);
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* attn_out = nullptr) override;

  bool post_norm;
  torch::nn::LayerNorm norm1{nullptr};
  Attention attn{nullptr};
  LayerScale ls1{nullptr};
  torch::nn::LayerNorm norm2{nullptr};
  Mlp mlp{nullptr};
  LayerScale ls2{nullptr};
};
TORCH_MODULE(Block);

// timm's ParallelScalingBlock (Dehghani et al. 2023, ViT-22B): one LayerNorm and one fused
// projection feed attention and the MLP side by side; x + ls(attn_out_proj(a) + mlp_out_proj(m)),
// or x + ls(out_proj([a, m])) (fused_out_proj; DiffParallelScalingBlock with differential attention).
class ParallelBlockImpl : public EncoderBlockImpl {
 public:
  ParallelBlockImpl(const ViTConfig& cfg, int64_t index);
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* attn_out = nullptr) override;

  int64_t heads, hidden;
  Activation act;
  torch::nn::LayerNorm in_norm{nullptr};
  Linear in_proj{nullptr};  // (hidden + 3D, D): [mlp; q; k; v]
  torch::Tensor mlp_bias;   // (hidden), when in_proj has no bias
  torch::nn::LayerNorm q_norm{nullptr}, k_norm{nullptr};
  DiffAttentionParts diff;
  Linear attn_out_proj{nullptr}, mlp_out_proj{nullptr};
  Linear out_proj{nullptr};  // fused_out_proj only
  LayerScale ls{nullptr};
};
TORCH_MODULE(ParallelBlock);

// Attention pooling with a learned latent query (timm AttentionPoolLatent, global_pool='map'):
// the latent attends over the tokens, then x + mlp(norm(x)); returns (B, D).
class AttentionPoolImpl : public torch::nn::Module {
 public:
  explicit AttentionPoolImpl(const ViTConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* attn_out = nullptr);

  int64_t heads;
  torch::Tensor latent;  // (1, 1, D)
  Linear q{nullptr}, kv{nullptr}, proj{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(AttentionPool);

// Running a model at another resolution than its position embeddings were trained for:
// pos (1, prefix + g*g, D) -> (1, prefix + new_grid^2, D), the first `prefix` rows (class,
// distillation, register tokens) kept as they are, the grid resampled in float32 the way the
// model's own library does on load:
//   TimmAntialias: timm resample_abs_pos_embed (bicubic, antialias=True);
//   Bicubic: Hugging Face interpolate_pos_encoding (bicubic, align_corners=False);
//   BicubicAlignCorners: torchvision interpolate_embeddings (bicubic, align_corners=True).
torch::Tensor resample_pos_embed(const torch::Tensor& pos, int64_t prefix, int64_t new_grid, PosResample how);

}  // namespace vit
