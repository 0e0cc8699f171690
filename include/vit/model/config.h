// The blueprint of a Vision Transformer: sizes and the choice of each part, no weights and no
// compute. Filled in from checkpoint tensor shapes plus, where present, a config.json (see
// hints.h and architecture.h); the module (vision_transformer.h) builds exactly this.
#pragma once

#include <cstdint>
#include <string>

#include "vit/model/hybrid_stem.h"

namespace vit {

// How the token sequence becomes one vector for the head (timm's global_pool).
enum class Pool {
  Token,        // the class token (the paper's ViT, DeiT)
  Avg,          // mean of the patch tokens (timm 'avg', the *_gap_* models)
  Max,          // max over the patch tokens (timm 'max')
  AvgMax,       // 0.5 * (max + mean) (timm 'avgmax')
  Map,          // attention pooling with a learned latent query (timm 'map', SigLIP)
  TokenAndAvg,  // [class token, mean of patch tokens] (Hugging Face Dinov2ForImageClassification)
};
const char* pool_name(Pool p);  // token | avg | max | avgmax | map | token+avg

// The MLP's nonlinearity.
enum class Activation {
  Gelu,       // exact erf GELU
  GeluTanh,   // tanh approximation
  QuickGelu,  // x * sigmoid(1.702 x), OpenAI CLIP
  SwiGlu,     // fc1 gives [a, b]; silu(a) * b (Dinov2 giant's SwiGLU, timm SwiGLUPacked)
};
const char* activation_name(Activation a);

// The encoder block's arrangement.
enum class BlockKind {
  PreNorm,   // x + attn(norm1(x)), x + mlp(norm2(x)) (the paper's)
  PostNorm,  // x + norm1(attn(x)), x + norm2(mlp(x)) (timm ResPostBlock, *_rpn_*)
  Parallel,  // x + attn(in_norm(x)) + mlp(in_norm(x)) from one fused projection (timm ParallelScalingBlock)
};

// A relative position bias on the attention logits (beit_layers.h).
enum class RelPos {
  None,
  Table,  // BEiT: a learned ((2g-1)^2 + 3, heads) table (timm beit.py, Hugging Face Beit)
  Mlp,    // timm RelPosMlp: an MLP over log-spaced (dy, dx) (vision_transformer_relpos.py)
};

// How position embeddings trained at one grid are resampled to another, as each library does.
enum class PosResample {
  TimmAntialias,        // timm resample_abs_pos_embed: bicubic, antialias
  Bicubic,              // Hugging Face interpolate_pos_encoding: bicubic, no antialias
  BicubicAlignCorners,  // torchvision interpolate_embeddings: bicubic, align_corners
};

// Rotary position embeddings on the patch tokens' q and k (timm eva.py; see eva_layers.h).
enum class Rope {
  None,
  Cat,    // timm RotaryEmbeddingCat: fixed axial frequencies (EVA-02, ROPE-ViT axial, SBB rope)
  Mixed,  // timm RotaryEmbeddingMixed: learned frequencies per block and head ("rope.freqs")
};

struct ViTConfig {
  int64_t image_size = 224;  // input side in pixels (square)
  int64_t patch_size = 16;   // P: side of one patch
  int64_t in_chans = 3;
  int64_t dim = 768;       // D: token width
  int64_t depth = 12;      // L: number of encoder blocks
  int64_t heads = 12;      // attention heads; D % heads == 0
  int64_t mlp_dim = 3072;  // fc1's output width (twice the hidden width for SwiGLU)
  int64_t num_classes = 1000;
  double eps = 1e-6;  // LayerNorm epsilon

  // Tokens before the patches: [class] [distillation] [registers...].
  bool class_token = true;
  bool distilled = false;       // DeiT: a distillation token
  bool dist_head = false;       // ... and its own head averaged with the class head (timm, HF WithTeacher)
  int64_t reg_tokens = 0;       // register tokens (Darcet et al. 2023)
  bool no_embed_class = false;  // position embeddings cover the patches only (DeiT-III, *_reg*)

  // Parts that are there or not (read from the tensors present).
  bool patch_bias = true;  // patch_embed.proj.bias (CLIP models have none)
  bool norm_pre = false;   // LayerNorm after the embeddings (CLIP)
  bool qkv_bias = true;
  bool proj_bias = true;     // attn.proj, mlp.fc1/fc2 biases
  bool qk_norm = false;      // LayerNorm on each head's q and k
  bool attn_norm = false;    // LayerNorm on the attention output before proj (BEiT-3)
  bool mlp_norm = false;     // LayerNorm on the MLP hidden layer (BEiT-3)
  bool layer_scale = false;  // ls1/ls2 per-channel gains (CaiT, DeiT-III, Dinov2)
  // Differential attention (Ye et al. 2024, timm DiffAttention: vit_dlittle, vit_dwee, vit_dpwee),
  // its lambda as two scalars instead of four vectors, and parallel blocks' single out_proj.
  bool diff_attention = false;
  bool diff_dual_lambda = false;
  bool fused_out_proj = false;
  // CaiT (timm cait.py): talking-heads attention in the blocks (the head count is proj_l's), and
  // class-attention blocks after them (blocks_token_only) that the class token joins only then.
  bool talking_heads = false;
  int64_t depth_token_only = 0;
  int64_t token_only_mlp_dim = 0;
  bool final_norm = true;  // norm after the blocks, before pooling
  // XCiT (timm xcit.py, xcit_layers.h): convolutional patch embedding, Fourier position encoding
  // and XCA blocks over the patches, then class-attention blocks over [class, patches].
  bool xcit = false;
  int64_t xcit_cls_blocks = 0;    // class-attention blocks after the `depth` XCA blocks
  bool xcit_tokens_norm = false;  // they norm every token after attention, not only the class token
  int64_t xcit_pos_hidden = 0;    // Fourier features per axis (timm's 32); 0: no position encoding
  bool fc_norm = false;           // norm after pooling instead (timm's avg heads)
  BlockKind block = BlockKind::PreNorm;
  Activation act = Activation::Gelu;
  Pool pool = Pool::Token;
  int64_t pool_mlp_dim = 0;  // attention pooling's MLP width (Pool::Map)

  // Hybrid ViTs (timm vision_transformer_hybrid.py): a ResNet-v2 stem before the patch
  // projection, which then cuts its feature map (stride hybrid.stride()) into proj_kernel-wide
  // cells; patch_size stays the pixels per token (stride x proj_kernel).
  bool hybrid = false;
  HybridStem hybrid_stem;
  int64_t proj_kernel() const { return hybrid ? patch_size / hybrid_stem.stride() : patch_size; }
  int64_t proj_in() const { return hybrid ? hybrid_stem.out_channels() : in_chans; }

  // EVA (timm eva.py, eva_layers.h): its blocks, and rotary position embeddings. Tensors show
  // the block's layout; the rope settings come from the architecture name / model_args.
  bool eva = false;               // blocks are EvaBlocks (eva.py's Eva class)
  bool eva_qkv_split = false;     // attn.q_proj/k_proj/v_proj instead of a fused attn.qkv
  bool eva_qv_bias = false;       // attn.q_bias and attn.v_bias beside a bias-free attn.qkv (k's bias is 0)
  bool eva_swiglu_split = false;  // mlp.fc1_g and mlp.fc1_x (timm SwiGLU) instead of one packed fc1
  Rope rope = Rope::None;
  double rope_temperature = 10000;
  bool rope_xy = false;           // grid_indexing 'xy': the x (column) coordinate's frequencies first
  int64_t rope_ref_grid = 0;      // ref_feat_shape: positions scaled to this grid side (EVA-02: 16); 0 = none
  double rope_grid_offset = 0;    // added to each position
  bool rope_rotate_half = false;  // rotate the halves [-x2, x1] instead of the interleaved pairs

  // Position embeddings as stored in the file: their grid side, and how to resample them when
  // image_size asks for another grid.
  int64_t pos_grid = 14;
  PosResample pos_resample = PosResample::TimmAntialias;
  bool abs_pos = true;  // pos_embed is there (BEiT and the relpos models have none)

  // Relative position bias (BEiT, timm relpos): its kind, one for all blocks or one per block,
  // the grid a table was stored for, the MLP's hidden width.
  RelPos rel_pos = RelPos::None;
  bool rel_pos_shared = false;
  int64_t rel_pos_grid = 0;
  int64_t rel_pos_hidden = 0;
  bool qv_bias = false;  // BEiT: q_bias and v_bias beside a bias-free qkv (there is no key bias)

  int64_t grid() const { return image_size / patch_size; }  // patches per side
  int64_t num_patches() const { return grid() * grid(); }   // N
  int64_t num_prefix_tokens() const { return (class_token ? 1 : 0) + (distilled ? 1 : 0) + reg_tokens; }
  int64_t num_tokens() const { return num_prefix_tokens() + num_patches(); }  // T
  // Rows of pos_embed for a grid of side g: the prefix tokens' too unless no_embed_class.
  int64_t pos_tokens(int64_t g) const { return (no_embed_class ? 0 : num_prefix_tokens()) + g * g; }
  int64_t head_dim() const { return dim / heads; }
  // Width of one query/key head: differential attention splits each head's q and k in two.
  int64_t qk_head_dim() const { return diff_attention ? head_dim() / 2 : head_dim(); }
  int64_t head_in() const { return pool == Pool::TokenAndAvg ? 2 * dim : dim; }  // the head's input width
  std::string describe() const;                                                  // "ViT D=192 depth=12 ..."
};

// The side of the square patch grid behind `tokens` position embeddings of which `prefix`
// are class/distillation/register tokens; 0 when the rest is not a square number.
int64_t grid_side(int64_t tokens, int64_t prefix);

}  // namespace vit
