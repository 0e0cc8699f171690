// The ViT module; see include/vit/model/vision_transformer.h.
#include "vit/model/vision_transformer.h"

#include "vit/model/beit_layers.h"
#include "vit/model/cait_layers.h"

namespace vit {

PatchEmbedImpl::PatchEmbedImpl(const ViTConfig& cfg) {
  if (cfg.hybrid) backbone = register_module("backbone", HybridBackbone(cfg.hybrid_stem, cfg.in_chans));
  const int64_t k = cfg.proj_kernel();
  proj = register_module(
      "proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(cfg.proj_in(), cfg.dim, k).stride(k).bias(cfg.patch_bias)));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& x) {
  return proj(backbone ? backbone(x) : x).flatten(2).transpose(1, 2);  // (B, D, g, g) -> (B, N, D)
}

VisionTransformerImpl::VisionTransformerImpl(const ViTConfig& cfg) : cfg_(cfg) {
  TORCH_CHECK(cfg.patch_size > 0 && cfg.image_size % cfg.patch_size == 0, "[VisionTransformer] image size ",
              cfg.image_size, " is not a multiple of patch size ", cfg.patch_size);
  const int64_t D = cfg.dim;
  if (cfg.xcit) {
    build_xcit(cfg);
    return;
  }
  patch_embed = register_module("patch_embed", PatchEmbed(cfg));
  if (cfg.class_token) cls_token = register_parameter("cls_token", torch::zeros({1, 1, D}));
  if (cfg.distilled) dist_token = register_parameter("dist_token", torch::zeros({1, 1, D}));
  if (cfg.reg_tokens) reg_token = register_parameter("reg_token", torch::zeros({1, cfg.reg_tokens, D}));
  if (cfg.abs_pos) pos_embed = register_parameter("pos_embed", torch::zeros({1, cfg.pos_tokens(cfg.grid()), D}));
  if (cfg.rope != Rope::None) rope = register_module("rope", EvaRope(cfg));
  if (cfg.norm_pre) norm_pre = register_module("norm_pre", layer_norm(D, cfg.eps));
  blocks = register_module("blocks", torch::nn::ModuleList());
  std::shared_ptr<RelPosSourceImpl> shared_rel_pos;  // BEiT's rel_pos_bias, timm srelpos' shared_rel_pos
  if (const char* name = shared_rel_pos_name(cfg))
    shared_rel_pos = register_module(name, std::make_shared<RelPosSourceImpl>(cfg));
  for (int64_t i = 0; i < cfg.depth; ++i) {
    if (cfg.rel_pos != RelPos::None)
      blocks->push_back(RelPosBlock(cfg, shared_rel_pos));
    else if (cfg.eva)
      blocks->push_back(EvaBlock(cfg, i, rope));
    else if (cfg.block == BlockKind::Parallel)
      blocks->push_back(ParallelBlock(cfg, i));
    else if (cfg.talking_heads)
      blocks->push_back(TalkingHeadsBlock(cfg));
    else
      blocks->push_back(Block(cfg, i));
  }
  if (cfg.depth_token_only) {
    blocks_token_only = register_module("blocks_token_only", torch::nn::ModuleList());
    for (int64_t i = 0; i < cfg.depth_token_only; ++i) blocks_token_only->push_back(CaitClassAttnBlock(cfg));
  }
  if (cfg.final_norm) norm = register_module("norm", layer_norm(D, cfg.eps));
  if (cfg.pool == Pool::Map) attn_pool = register_module("attn_pool", AttentionPool(cfg));
  if (cfg.fc_norm) fc_norm = register_module("fc_norm", layer_norm(D, cfg.eps));
  head = register_module("head", Linear(cfg.head_in(), cfg.num_classes, true));
  if (cfg.dist_head) head_dist = register_module("head_dist", Linear(D, cfg.num_classes, true));
}

// XCiT's parts under timm's names: patch_embed, cls_token, pos_embed (a module), blocks (XCA),
// cls_attn_blocks, norm, head.
void VisionTransformerImpl::build_xcit(const ViTConfig& cfg) {
  xcit_embed = register_module("patch_embed", XcitPatchEmbed(cfg));
  cls_token = register_parameter("cls_token", torch::zeros({1, 1, cfg.dim}));
  if (cfg.xcit_pos_hidden > 0) xcit_pos = register_module("pos_embed", FourierEncoding(cfg.xcit_pos_hidden, cfg.dim));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.depth; ++i) blocks->push_back(XcaBlock(cfg));
  cls_attn_blocks = register_module("cls_attn_blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.xcit_cls_blocks; ++i) cls_attn_blocks->push_back(ClassAttentionBlock(cfg));
  norm = register_module("norm", layer_norm(cfg.dim, cfg.eps));
  head = register_module("head", Linear(cfg.head_in(), cfg.num_classes, true));
}

torch::Tensor VisionTransformerImpl::position_embeddings() {
  if (cfg_.xcit)  // without an encoding: zeros, nothing added
    return xcit_pos ? xcit_pos(cfg_.grid(), cfg_.grid()).squeeze(0) : torch::zeros({cfg_.num_patches(), cfg_.dim});
  return pos_embed.squeeze(0);
}

void VisionTransformerImpl::set_per_image(bool on) {
  for (const auto& m : modules(false))
    if (auto* lin = m->as<LinearImpl>()) lin->per_image = on;
}

// Patches, prefix tokens and position embeddings, in timm's order: [class, dist, registers,
// patches]; pos_embed added after the concatenation, or to the patches alone (no_embed_class).
torch::Tensor VisionTransformerImpl::embed(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == cfg_.in_chans && images.size(2) == cfg_.image_size &&
                  images.size(3) == cfg_.image_size,
              "[VisionTransformer] expected images (B, ", cfg_.in_chans, ", ", cfg_.image_size, ", ", cfg_.image_size,
              "), got ", images.sizes());
  const int64_t B = images.size(0);
  if (cfg_.xcit) {  // the patches alone: XCiT adds its class token after the XCA blocks
    auto x = xcit_embed(images);
    return xcit_pos ? x + xcit_pos(cfg_.grid(), cfg_.grid()) : x;
  }
  auto x = patch_embed(images);  // (B, N, D)
  std::vector<torch::Tensor> parts;
  if (cls_token.defined() && !blocks_token_only) parts.push_back(cls_token.expand({B, -1, -1}));
  if (dist_token.defined()) parts.push_back(dist_token.expand({B, -1, -1}));
  if (reg_token.defined()) parts.push_back(reg_token.expand({B, -1, -1}));
  if (cfg_.no_embed_class && pos_embed.defined()) x = x + pos_embed;
  if (!parts.empty()) {
    parts.push_back(x);
    x = torch::cat(parts, 1);
  }
  if (!cfg_.no_embed_class && pos_embed.defined()) x = x + pos_embed;
  return norm_pre ? norm_pre(x) : x;
}

// The sequence (B, T, D) after the final norm -> the head's input (B, head_in).
torch::Tensor VisionTransformerImpl::pool(const torch::Tensor& x, ForwardTrace* trace) {
  const int64_t prefix = cfg_.num_prefix_tokens();
  const auto patches = [&] { return x.slice(1, prefix); };
  torch::Tensor pooled;
  switch (cfg_.pool) {
    case Pool::Token: pooled = x.select(1, 0); break;
    case Pool::Avg: pooled = patches().mean(1); break;
    case Pool::Max: pooled = patches().amax(1); break;
    case Pool::AvgMax: pooled = 0.5 * (patches().amax(1) + patches().mean(1)); break;
    case Pool::Map: pooled = attn_pool(patches(), trace ? &trace->pool_attention : nullptr); break;
    case Pool::TokenAndAvg: pooled = torch::cat({x.select(1, 0), patches().mean(1)}, 1); break;
  }
  return fc_norm ? fc_norm(pooled) : pooled;
}

torch::Tensor VisionTransformerImpl::run(const torch::Tensor& images, ForwardTrace* trace) {
  auto x = embed(images);
  if (trace) trace->attentions.clear();
  // A block without token x token weights (XCiT's XCA: channel x channel) leaves them undefined.
  const auto run_blocks = [&](torch::nn::ModuleList& list) {
    for (const auto& m : *list) {
      torch::Tensor a;
      x = m->as<EncoderBlockImpl>()->forward(x, trace ? &a : nullptr);
      if (trace && a.defined()) trace->attentions.push_back(a);
    }
  };
  run_blocks(blocks);
  if (cls_attn_blocks) {
    x = torch::cat({cls_token.expand({x.size(0), -1, -1}), x}, 1);
    run_blocks(cls_attn_blocks);
  }
  if (blocks_token_only) x = join_class_token(blocks_token_only, cls_token, x, trace ? &trace->attentions : nullptr);
  if (trace) trace->tokens = x;
  if (norm) x = norm(x);
  if (cfg_.dist_head) return (head(x.select(1, 0)) + head_dist(x.select(1, 1))) / 2;
  return head(pool(x, trace));  // (B, classes)
}

torch::Tensor VisionTransformerImpl::position_vectors() {
  if (cfg_.xcit) return position_embeddings().detach();  // its Fourier encoding at this grid
  if (pos_embed.defined()) return pos_embed.detach().squeeze(0);
  if (rope) return rope->position_rows();  // eva.py, rotary embeddings alone: each patch's rotation angles
  auto* block = blocks->ptr(0)->as<RelPosBlockImpl>();
  TORCH_CHECK(block, "[VisionTransformer] neither position embeddings nor a relative position bias");
  const int64_t p = cfg_.num_prefix_tokens();
  return block->attn->bias().detach().mean(0).slice(0, p).slice(1, p).contiguous();
}

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor& images) { return run(images, nullptr); }

torch::Tensor VisionTransformerImpl::forward_traced(const torch::Tensor& images, ForwardTrace& trace) {
  return run(images, &trace);
}

}  // namespace vit
