// XCiT (El-Nouby et al. 2021, timm xcit.py) as parts of VisionTransformer: the convolutional
// patch embedding, the Fourier position encoding, cross-covariance attention blocks and the
// class-attention blocks after them, under timm's names; and reading XCiT's config from its tensors.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "vit/model/config.h"
#include "vit/model/hints.h"
#include "vit/model/layers.h"
#include "vit/model/names.h"

namespace vit {

// timm ConvPatchEmbed: log2(P) stages of 3x3 stride-2 conv (no bias) + BatchNorm, GELU between
// them, widths D/2^(k-1) ... D/2, D (P=16: D/8, D/4, D/2, D; P=8: D/4, D/2, D). Registered as
// "proj.{0,2,4,6}.{0 conv,1 batch norm}" as timm's nested Sequential names them.
// (B, 3, S, S) -> (B, N, D), N = (S/P)^2.
class ConvBnImpl : public torch::nn::Module {  // timm conv3x3: "0" conv, "1" BatchNorm (eval: running stats)
 public:
  ConvBnImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& x) { return bn(conv(x)); }

  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
};
TORCH_MODULE(ConvBn);

class XcitPatchEmbedImpl : public torch::nn::Module {
 public:
  explicit XcitPatchEmbedImpl(const ViTConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x);

  std::shared_ptr<torch::nn::Module> proj;  // holds the stages as "0", "2", ... (timm's GELUs between)
  std::vector<ConvBn> stages;
};
TORCH_MODULE(XcitPatchEmbed);

// timm PositionalEncodingFourier: fixed sin/cos features of each patch's (row, column), scaled
// to (0, 2 pi] over the grid, through a learned 1x1 conv "token_projection" (2*hidden -> D).
// Computed for whatever grid the model runs at, as timm does in every forward.
class FourierEncodingImpl : public torch::nn::Module {
 public:
  FourierEncodingImpl(int64_t hidden, int64_t dim);
  torch::Tensor forward(int64_t rows, int64_t cols);  // -> (1, rows*cols, D)

  int64_t hidden;
  torch::nn::Conv2d token_projection{nullptr};
};
TORCH_MODULE(FourierEncoding);

// Cross-covariance attention (timm XCA): per head, q and k (hd, N) L2-normalised over the
// tokens, softmax(temperature * q k^T) is a (hd, hd) map over channels that mixes v's channels.
class XcaImpl : public torch::nn::Module {
 public:
  explicit XcaImpl(const ViTConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x);  // (B, N, D) -> (B, N, D)

  int64_t heads;
  torch::Tensor temperature;  // (heads, 1, 1)
  Linear qkv{nullptr}, proj{nullptr};
};
TORCH_MODULE(Xca);

// Local patch interaction (timm LPI): depthwise 3x3 conv, GELU, BatchNorm, depthwise 3x3 conv
// over the (g, g) patch grid. (B, N, D) -> (B, N, D).
class LpiImpl : public torch::nn::Module {
 public:
  LpiImpl(int64_t dim, int64_t grid);
  torch::Tensor forward(const torch::Tensor& x);

  int64_t grid;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
};
TORCH_MODULE(Lpi);

// timm XCABlock over the patch tokens only: x + gamma1 XCA(norm1 x), x + gamma3 LPI(norm3 x),
// x + gamma2 MLP(norm2 x) (in that order, as the official code). Its attention is channel x
// channel, not token x token: it leaves attn_out undefined, and explain shows the class-attention
// blocks instead.
class XcaBlockImpl : public EncoderBlockImpl {
 public:
  explicit XcaBlockImpl(const ViTConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* attn_out = nullptr) override;

  torch::nn::LayerNorm norm1{nullptr}, norm3{nullptr}, norm2{nullptr};
  Xca attn{nullptr};
  Lpi local_mp{nullptr};
  Mlp mlp{nullptr};
  torch::Tensor gamma1, gamma2, gamma3;  // (D) each
};
TORCH_MODULE(XcaBlock);

// timm ClassAttn (CaiT's, used by XCiT): the class token's query over all tokens' keys and
// values, q/k/v as separate Linears. (B, T, D) -> (B, 1, D); attn_out gets (B, heads, 1, T).
class ClassAttnImpl : public torch::nn::Module {
 public:
  explicit ClassAttnImpl(const ViTConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* attn_out);

  int64_t heads;
  Linear q{nullptr}, k{nullptr}, v{nullptr}, proj{nullptr};
};
TORCH_MODULE(ClassAttn);

// timm xcit ClassAttentionBlock on [class, patches] (B, 1+N, D): the class token attends over
// every token; the patch tokens get no attention (only themselves, normed, added back), and with
// tokens_norm they are normed by norm2 too; the class token alone goes through the MLP.
// attn_out: (B, heads, T, T) with row 0 the class token's weights and the identity below it
// (each patch token is updated from itself alone), so explain's rollout reads the block as it is.
class ClassAttentionBlockImpl : public EncoderBlockImpl {
 public:
  explicit ClassAttentionBlockImpl(const ViTConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* attn_out = nullptr) override;

  bool tokens_norm;
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  ClassAttn attn{nullptr};
  Mlp mlp{nullptr};
  torch::Tensor gamma1, gamma2;  // (D) each
};
TORCH_MODULE(ClassAttentionBlock);

// XCiT's first conv, which names a timm checkpoint of it (there is no patch_embed.proj.weight).
inline constexpr const char* kXcitPatchEmbed = "patch_embed.proj.0.0.weight";
// timm's XCiT tensor names as lines of the timm family's rules (names.h).
std::vector<NameRule> xcit_name_rules();
// Whether the tensors are an XCiT's (its convolutional patch embedding's first conv).
bool is_xcit(const std::map<std::string, torch::Tensor>& tensors);
// Fills the XCiT fields and every size of cfg from the tensors' shapes (width, patch size from
// the conv stages, heads from attn.temperature, depths, MLP width, Fourier width), and
// tokens_norm (no tensor of its own) from hints. Throws ModelError naming the tensor or the
// missing fact.
void read_xcit(const std::map<std::string, torch::Tensor>& tensors, const ModelHints& hints, ViTConfig& cfg);
// Every XCiT parameter's and batch-norm statistic's shape under its timm name, head aside.
void xcit_shapes(const ViTConfig& cfg, std::map<std::string, std::vector<int64_t>>& shapes);

}  // namespace vit
