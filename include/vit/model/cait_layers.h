// CaiT (Touvron et al. 2021, "Going deeper with Image Transformers"; timm cait.py): talking-heads
// self-attention blocks with layer scale over the patches alone, then class-attention blocks
// in which only the class token is updated. Parameters under timm's names (blocks.i.attn.proj_l,
// blocks_token_only.i.attn.q, ...; gamma_1/gamma_2 become ls1.gamma/ls2.gamma as for DeiT-III).
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "vit/model/config.h"
#include "vit/model/layers.h"

namespace vit {

// timm TalkingHeadAttn: qkv, the logits mixed across heads by proj_l before the softmax and the
// weights mixed again by proj_w after it (Shazeer et al. 2020), then proj. proj_l and proj_w are
// (heads, heads) mixes, a few hundred multiply-adds per token pair: plain torch.
class TalkingHeadAttnImpl : public torch::nn::Module {
 public:
  explicit TalkingHeadAttnImpl(const ViTConfig& cfg);
  // x (B, N, D) -> (B, N, D); attn_out: the weights the values are summed with, after proj_w
  // (B, heads, N, N); they need not be positive nor sum to 1.
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* attn_out = nullptr);

  int64_t heads;
  Linear qkv{nullptr}, proj{nullptr};
  torch::nn::Linear proj_l{nullptr}, proj_w{nullptr};
};
TORCH_MODULE(TalkingHeadAttn);

// timm LayerScaleBlock: x + gamma_1 attn(norm1(x)), x + gamma_2 mlp(norm2(x)).
class TalkingHeadsBlockImpl : public EncoderBlockImpl {
 public:
  explicit TalkingHeadsBlockImpl(const ViTConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* attn_out = nullptr) override;

  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  TalkingHeadAttn attn{nullptr};
  LayerScale ls1{nullptr}, ls2{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(TalkingHeadsBlock);

// timm ClassAttn: the class token's query over the keys and values of [class, patches].
class CaitClassAttnImpl : public torch::nn::Module {
 public:
  explicit CaitClassAttnImpl(const ViTConfig& cfg);
  // u (B, 1 + N, D) -> the class token's update (B, 1, D); attn_out: (B, heads, 1, 1 + N).
  torch::Tensor forward(const torch::Tensor& u, torch::Tensor* attn_out = nullptr);

  int64_t heads;
  Linear q{nullptr}, k{nullptr}, v{nullptr}, proj{nullptr};
};
TORCH_MODULE(CaitClassAttn);

// timm LayerScaleBlockClassAttn: u = [cls, x]; cls + gamma_1 attn(norm1(u)), then
// cls + gamma_2 mlp(norm2(cls)). The patches x pass through unchanged.
class CaitClassAttnBlockImpl : public torch::nn::Module {
 public:
  explicit CaitClassAttnBlockImpl(const ViTConfig& cfg);
  // x (B, N, D), cls (B, 1, D) -> cls (B, 1, D).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cls, torch::Tensor* attn_out = nullptr);

  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  CaitClassAttn attn{nullptr};
  LayerScale ls1{nullptr}, ls2{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(CaitClassAttnBlock);

// The class-attention blocks after `blocks` (timm's blocks_token_only): cls (1, 1, D) expanded
// over the batch, run through them against the patches x (B, N, D); returns [cls, x] (B, 1 + N, D).
// With attentions (explain's per-block maps), every map so far, the self-attention blocks'
// (B, h, N, N), becomes (B, h, 1 + N, 1 + N) with the class token as a token that only sees
// itself, and each class-attention block adds one whose class row is its weights over
// [class, patches] and whose patch rows are the identity (the patches are not updated).
torch::Tensor join_class_token(torch::nn::ModuleList& blocks, const torch::Tensor& cls, const torch::Tensor& x,
                               std::vector<torch::Tensor>* attentions);

// CaiT's parts from the canonical tensors: talking heads (and the head count, from proj_l's
// shape), the class-attention blocks and their MLP width. A head count from a config that
// contradicts proj_l is a ModelError.
void read_cait(const std::map<std::string, torch::Tensor>& t, int64_t hinted_heads, ViTConfig& c);
// Their parameters' shapes, added to expected_shapes'.
void cait_shapes(const ViTConfig& c, std::map<std::string, std::vector<int64_t>>& s);

}  // namespace vit
