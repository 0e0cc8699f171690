// Relative position bias on the attention logits: BEiT / BEiT v2 (timm beit.py, Hugging Face
// BeitForImageClassification) and timm's vision_transformer_relpos.py (RelPosMlp), their blocks,
// what the tensors say of them, their shapes, and their tables resampled for --image-size.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vit/model/config.h"
#include "vit/model/hints.h"
#include "vit/model/layers.h"
#include "vit/model/names.h"

namespace vit {

// Where a block's (heads, T, T) bias comes from, under timm's names:
//   Table: relative_position_bias_table ((2g-1)^2 + 3, heads), BEiT's, indexed as
//          timm's gen_relative_position_index (the 3 last rows: class->patch, patch->class,
//          class->class);
//   Mlp:   mlp.fc1/fc2 (attn.rel_pos.mlp.*, shared_rel_pos.mlp.*), timm RelPosMlp ('cr' mode): an MLP 2 -> hidden ->
//   heads
//          over sign(d) log(1 + |d|) of each (dy, dx), zero for prefix-token rows and columns.
// The index tensors are recomputed from the grid (never read from a file).
class RelPosSourceImpl : public torch::nn::Module {
 public:
  explicit RelPosSourceImpl(const ViTConfig& cfg);
  torch::Tensor forward();  // (heads, T, T), float32

  RelPos kind;
  int64_t heads, grid, prefix;
  torch::Tensor relative_position_bias_table;    // Table
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};  // Mlp: mlp.fc1/fc2 (kept fp32: a bias, not a product)
  torch::Tensor index;                           // (N*N) or (T*T) rows into the table / MLP output
  torch::Tensor coords;                          // Mlp: ((2g-1)^2, 2) log-spaced (dy, dx)
};
TORCH_MODULE(RelPosSource);

// Multi-head self-attention with a relative position bias added to q k^T / sqrt(d) before the
// softmax: its own source (attn.relative_position_bias_table, attn.rel_pos.mlp) or the model's
// shared one. BEiT's q_bias and v_bias are added to qkv's q and v rows (its key has none).
class RelPosAttentionImpl : public torch::nn::Module {
 public:
  RelPosAttentionImpl(const ViTConfig& cfg, std::shared_ptr<RelPosSourceImpl> shared);
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* attn_out);
  torch::Tensor bias();  // (heads, T, T)

  int64_t heads;
  Linear qkv{nullptr};
  torch::Tensor q_bias, v_bias;  // (D) each, cfg.qv_bias only
  torch::nn::LayerNorm q_norm{nullptr}, k_norm{nullptr};
  std::shared_ptr<RelPosSourceImpl> own;     // per block: its table registered here, or its MLP as rel_pos
  std::shared_ptr<RelPosSourceImpl> shared;  // the model's (rel_pos_bias, shared_rel_pos)
  Linear proj{nullptr};
};
TORCH_MODULE(RelPosAttention);

// BEiT's Block and timm's RelPosBlock (pre-norm, layer scale gamma_1/gamma_2 = ls1/ls2) or
// ResPostRelPosBlock (post-norm, *_rpn_*).
class RelPosBlockImpl : public EncoderBlockImpl {
 public:
  RelPosBlockImpl(const ViTConfig& cfg, std::shared_ptr<RelPosSourceImpl> shared);
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* attn_out = nullptr) override;

  bool post_norm;
  torch::nn::LayerNorm norm1{nullptr};
  RelPosAttention attn{nullptr};
  LayerScale ls1{nullptr};
  torch::nn::LayerNorm norm2{nullptr};
  Mlp mlp{nullptr};
  LayerScale ls2{nullptr};
};
TORCH_MODULE(RelPosBlock);

// The model-level module's name for a shared source ("rel_pos_bias" or "shared_rel_pos"), or
// nullptr when each block has its own.
const char* shared_rel_pos_name(const ViTConfig& cfg);

// The family's rules (names.h) with the relative-position models' names added: timm's BEiT
// and relpos tensors as they are (index buffers dropped: recomputed), Hugging Face BEiT's
// (lambda_1/2, relative_position_bias tables, query/value biases, pooler.layernorm).
std::vector<NameRule> with_rel_pos_rules(Family family, std::vector<NameRule> rules);

// From the tensors: which relative position bias, shared or per block, the stored table's grid
// (rel_pos_grid), the MLP's width, BEiT's q/v biases, and the heads (one bias column / MLP output per head).
// Leaves cfg untouched when there is none. Throws ModelError naming a misshapen tensor.
void read_rel_pos(const std::map<std::string, torch::Tensor>& tensors, ViTConfig& cfg);

// The grid a model without pos_embed was trained at: the table's, or the config's input size
// (RelPosMlp has no stored grid). Throws ModelError when nothing tells.
int64_t rel_pos_stored_grid(const ViTConfig& cfg, const ModelHints& hints, int64_t image_size);

// The relative-position tensors' shapes: block b ("blocks.3.") when b is not empty, else the
// shared source's; tables at their stored grid.
void rel_pos_shapes(const ViTConfig& cfg, const std::string& b, std::map<std::string, std::vector<int64_t>>& s);

// timm's resize_rel_pos_bias_table (BEiT checkpoint_filter_fn): a ((2g-1)^2 + 3, heads) table
// for another grid, each head's (2g-1)^2 plane resampled linearly on the geometric-progression
// coordinates of the original BEiT code, the 3 class-token rows kept.
torch::Tensor resize_rel_pos_table(const torch::Tensor& table, int64_t new_grid);

}  // namespace vit
