// The ViT blueprint; see include/vit/model/config.h.
#include "vit/model/config.h"

#include <cmath>
#include <sstream>

namespace vit {

const char* pool_name(Pool p) {
  switch (p) {
    case Pool::Token: return "token";
    case Pool::Avg: return "avg";
    case Pool::Max: return "max";
    case Pool::AvgMax: return "avgmax";
    case Pool::Map: return "map";
    case Pool::TokenAndAvg: return "token+avg";
  }
  return "?";
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::Gelu: return "gelu";
    case Activation::GeluTanh: return "gelu_tanh";
    case Activation::QuickGelu: return "quick_gelu";
    case Activation::SwiGlu: return "swiglu";
  }
  return "?";
}

std::string ViTConfig::describe() const {
  std::ostringstream o;
  o << (distilled ? "DeiT-distilled " : "") << "ViT D=" << dim << " depth=" << depth << " heads=" << heads
    << " mlp=" << mlp_dim << " patch=" << patch_size << " image=" << image_size << " classes=" << num_classes
    << " eps=" << eps;
  // The parts that differ from the paper's ViT, so a log line says which model this is.
  if (hybrid)
    o << " resnet-stem=" << (hybrid_stem.stage_depth.empty() ? std::string("stem-only") : [&] {
      std::string d;
      for (const int64_t n : hybrid_stem.stage_depth) d += (d.empty() ? "" : "-") + std::to_string(n);
      return d;
    }());
  if (xcit)
    o << " XCiT(cross-covariance attention, conv patch embedding, local patch interaction, " << xcit_cls_blocks
      << " class-attention blocks" << (xcit_tokens_norm ? ", tokens_norm" : "")
      << (xcit_pos_hidden ? ", Fourier positions" : ", no positions") << ")";
  if (!class_token) o << " no-class-token";
  if (reg_tokens) o << " registers=" << reg_tokens;
  if (no_embed_class) o << " pos-embed-patches-only";
  if (pool != Pool::Token) o << " pool=" << pool_name(pool);
  if (fc_norm) o << " fc_norm";
  if (!final_norm) o << " no-final-norm";
  if (norm_pre) o << " norm_pre";
  if (!patch_bias) o << " no-patch-bias";
  if (layer_scale) o << " layer-scale";
  if (qk_norm) o << " qk_norm";
  if (diff_attention) o << " differential-attention";
  if (talking_heads) o << " talking-heads";
  if (depth_token_only) o << " class-attention-blocks=" << depth_token_only;
  if (attn_norm || mlp_norm) o << " scale-norms";
  if (!qkv_bias && !qv_bias) o << " no-qkv-bias";
  if (qv_bias) o << " q-v-bias";
  if (!proj_bias) o << " no-proj-bias";
  if (block == BlockKind::PostNorm) o << " post-norm-blocks";
  if (block == BlockKind::Parallel) o << " parallel-blocks";
  if (act != Activation::Gelu) o << " act=" << activation_name(act);
  if (abs_pos && pos_grid != grid()) o << " pos-embed-resampled-from=" << pos_grid * patch_size;
  if (!abs_pos) o << " no-abs-pos";
  if (rel_pos == RelPos::Table) o << " rel-pos-table" << (rel_pos_shared ? "-shared" : "");
  if (rel_pos == RelPos::Mlp) o << " rel-pos-mlp" << (rel_pos_shared ? "-shared" : "") << "=" << rel_pos_hidden;
  if (rel_pos == RelPos::Table && rel_pos_grid != grid()) o << " rel-pos-resampled-from=" << rel_pos_grid * patch_size;
  if (eva) o << " eva-blocks";
  if (eva_qv_bias && !qv_bias) o << " q-v-bias";  // read_rel_pos sets qv_bias for EVA too
  if (eva_qkv_split) o << " q-k-v-proj";
  if (eva_swiglu_split) o << " swiglu-split";
  if (rope != Rope::None)
    o << " rope=" << (rope == Rope::Cat ? "cat" : "mixed") << "(T=" << rope_temperature << (rope_xy ? ",xy" : ",ij")
      << (rope_ref_grid ? ",ref=" + std::to_string(rope_ref_grid) : "") << (rope_rotate_half ? ",half" : "") << ")";
  return o.str();
}

int64_t grid_side(int64_t tokens, int64_t prefix) {
  const int64_t n = tokens - prefix;
  if (n <= 0) return 0;
  const auto g = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(n))));
  return g * g == n ? g : 0;
}

}  // namespace vit
