// Tensors + hints -> ViTConfig; see include/vit/model/blueprint.h.
#include "vit/model/blueprint.h"

#include "vit/errors.h"
#include "vit/model/architecture.h"
#include "vit/model/beit_layers.h"
#include "vit/model/cait_layers.h"
#include "vit/model/eva_layers.h"
#include "vit/model/xcit_layers.h"

namespace vit {

namespace {

using Tensors = std::map<std::string, torch::Tensor>;

const torch::Tensor& need(const Tensors& t, const std::string& name, int64_t dims) {
  auto it = t.find(name);
  if (it == t.end()) throw ModelError("missing tensor '" + name + "' (canonical timm name)");
  if (it->second.dim() != dims)
    throw ModelError("tensor '" + name + "' has shape " + c10::str(it->second.sizes()) + ", expected " +
                     std::to_string(dims) + " dimensions");
  return it->second;
}

std::string shape_of(const torch::Tensor& x) { return c10::str(x.sizes()); }

// Patch embedding, prefix tokens, depth and widths.
void read_sizes(const Tensors& t, ViTConfig& c) {
  const auto& pw = need(t, "patch_embed.proj.weight", 4);
  if (pw.size(2) != pw.size(3))
    throw ModelError("tensor 'patch_embed.proj.weight' has shape " + shape_of(pw) + ", expected (D, C, P, P)");
  c.dim = pw.size(0);
  c.in_chans = pw.size(1);
  c.patch_size = pw.size(2);
  // A hybrid ViT: the projection reads the ResNet stem's features, and each token covers
  // stride x kernel pixels.
  c.hybrid = read_hybrid_stem(t, 3, c.hybrid_stem);
  if (c.hybrid) {
    if (pw.size(1) != c.hybrid_stem.out_channels())
      throw ModelError("tensor 'patch_embed.proj.weight' has shape " + shape_of(pw) + ", but the ResNet stem gives " +
                       std::to_string(c.hybrid_stem.out_channels()) + " channels");
    c.in_chans = 3;
    c.patch_size = pw.size(2) * c.hybrid_stem.stride();
  }
  if (c.in_chans != 3)
    throw ModelError("tensor 'patch_embed.proj.weight' has shape " + shape_of(pw) + ": " + std::to_string(c.in_chans) +
                     " input channels, but images are fed as RGB (3)");
  if (c.dim <= 0 || c.patch_size <= 0)
    throw ModelError("tensor 'patch_embed.proj.weight' has shape " + shape_of(pw) + ": no width or patch");
  c.patch_bias = t.count("patch_embed.proj.bias") > 0;
  c.class_token = t.count("cls_token") > 0;
  c.distilled = t.count("dist_token") > 0;
  if (t.count("reg_token")) c.reg_tokens = need(t, "reg_token", 3).size(1);
  c.block = t.count("blocks.0.in_proj.weight") ? BlockKind::Parallel : BlockKind::PreNorm;
  const std::string first = c.block == BlockKind::Parallel ? ".in_norm.weight" : ".norm1.weight";
  int64_t depth = 0;
  while (t.count("blocks." + std::to_string(depth) + first)) ++depth;
  if (depth == 0) throw ModelError("missing tensor 'blocks.0.norm1.weight': the checkpoint has no encoder blocks");
  c.depth = depth;
  if (c.block == BlockKind::Parallel) {
    c.mlp_dim = need(t, "blocks.0.in_proj.weight", 2).size(0) - 3 * c.dim;
    if (c.mlp_dim <= 0) throw ModelError("tensor 'blocks.0.in_proj.weight' is narrower than q, k and v together");
  } else if (t.count("blocks.0.mlp.fc1_g.weight")) {  // timm SwiGLU (EVA-02 B/L): gate and value apart
    c.mlp_dim = 2 * need(t, "blocks.0.mlp.fc1_g.weight", 2).size(0);
    c.act = Activation::SwiGlu;
  } else {
    c.mlp_dim = need(t, "blocks.0.mlp.fc1.weight", 2).size(0);
    // SwiGLU's fc1 gives both halves: fc2 reads half of fc1's width (Dinov2 giant).
    if (need(t, "blocks.0.mlp.fc2.weight", 2).size(1) * 2 == c.mlp_dim) c.act = Activation::SwiGlu;
  }
}

// The optional parts: each is there when its tensors are.
void read_parts(const Tensors& t, ViTConfig& c) {
  const auto has = [&](const std::string& n) { return t.count(n) > 0; };
  const bool parallel = c.block == BlockKind::Parallel;
  c.qkv_bias = has(parallel ? "blocks.0.in_proj.bias" : "blocks.0.attn.qkv.bias");
  c.fused_out_proj = parallel && has("blocks.0.out_proj.weight");
  c.proj_bias = has(!parallel          ? "blocks.0.attn.proj.bias"
                    : c.fused_out_proj ? "blocks.0.out_proj.bias"
                                       : "blocks.0.attn_out_proj.bias");
  c.qk_norm = has(parallel ? "blocks.0.q_norm.weight" : "blocks.0.attn.q_norm.weight");
  c.attn_norm = has("blocks.0.attn.norm.weight");
  c.mlp_norm = has("blocks.0.mlp.norm.weight");
  c.layer_scale = has(parallel ? "blocks.0.ls.gamma" : "blocks.0.ls1.gamma");
  const std::string attn = parallel ? "blocks.0." : "blocks.0.attn.";
  c.diff_attention = has(attn + "sub_norm.weight");
  c.diff_dual_lambda = has(attn + "lambda_a");
  c.norm_pre = has("norm_pre.weight");
  c.final_norm = has("norm.weight");
  c.fc_norm = has("fc_norm.weight");
  if (has("attn_pool.latent")) {
    c.pool = Pool::Map;
    c.pool_mlp_dim = need(t, "attn_pool.mlp.fc1.weight", 2).size(0);
  }
}

// The head: its classes, its input (the class token, a pooled vector, or both side by side),
// and DeiT's distillation head.
void read_head(const Tensors& t, const ModelHints& hints, Family family, ViTConfig& c) {
  if (!t.count("head.weight"))
    throw ModelError("missing tensor 'head.weight': the checkpoint has no classification head (a feature extractor?)");
  const auto& head = need(t, "head.weight", 2);
  c.num_classes = head.size(0);
  c.dist_head = c.distilled && t.count("head_dist.weight");
  if (c.distilled && !c.dist_head && !family_facts(family).dist_token_without_head)
    throw ModelError("tensor 'dist_token' without 'head_dist.weight': a DeiT distilled model needs both heads");
  if (c.pool != Pool::Map) {
    if (head.size(1) == 2 * c.dim && c.class_token)
      c.pool = Pool::TokenAndAvg;  // Dinov2ForImageClassification
    else if (hints.pool)
      c.pool = *hints.pool;
    else if (!c.class_token || c.fc_norm)
      c.pool = Pool::Avg;  // timm: no class token, or fc_norm (which timm adds for 'avg')
  } else if (hints.pool && *hints.pool != Pool::Map) {
    throw ModelError("the config says global_pool '" + std::string(pool_name(*hints.pool)) +
                     "' but the checkpoint has attention-pooling tensors ('attn_pool.latent')");
  }
  if (hints.pool == Pool::Map && c.pool != Pool::Map)
    throw ModelError("the config says global_pool 'map' but the checkpoint has no 'attn_pool.*' tensors");
  if ((c.pool == Pool::Token || c.pool == Pool::TokenAndAvg) && !c.class_token)
    throw ModelError(std::string("pooling '") + pool_name(c.pool) +
                     "' needs a class token, and there is no 'cls_token'");
  if (c.dist_head && c.pool != Pool::Token)
    throw ModelError("a DeiT distillation head with pooling '" + std::string(pool_name(c.pool)) + "' is not supported");
  if (head.size(1) != c.head_in())
    throw ModelError("tensor 'head.weight' has shape " + shape_of(head) + " but pooling '" + pool_name(c.pool) +
                     "' gives " + std::to_string(c.head_in()) + " features");
}

void choose_image_size(const ModelHints& hints, int64_t image_size, int64_t stored, ViTConfig& c);

// Position embeddings: which rows they cover, the grid they were stored for, and the grid the
// model runs at.
void read_grid(const Tensors& t, const ModelHints& hints, Family family, int64_t image_size, ViTConfig& c) {
  const auto it = t.find("pos_embed");
  c.abs_pos = it != t.end();
  // No absolute positions: BEiT and timm relpos run at their relative-position table's grid;
  // eva.py's rotary embeddings alone have none (g = 0: the image size comes from the config).
  int64_t g = c.abs_pos ? -1 : c.rope != Rope::None ? 0 : rel_pos_stored_grid(c, hints, image_size);
  const auto& pos = c.abs_pos ? it->second : torch::Tensor();
  if (c.abs_pos && pos.dim() != 3 && pos.dim() != 2) throw ModelError("tensor 'pos_embed' has shape " + shape_of(pos));
  if (c.depth_token_only) c.no_embed_class = true;  // CaiT: the class token joins after the blocks
  const int64_t tokens = c.abs_pos ? pos.size(pos.dim() - 2) : 0, prefix = c.no_embed_class ? 0 : c.num_prefix_tokens();
  if (c.abs_pos) g = grid_side(tokens, prefix);
  if (c.abs_pos && g == 0 && prefix > 0) {
    g = grid_side(tokens, 0);  // DeiT-III, the *_reg* models: position embeddings for the patches only
    c.no_embed_class = g > 0;
  }
  c.pos_grid = g;
  c.pos_resample = family_facts(family).pos_resample;
  if (c.abs_pos && g == 0)
    throw ModelError("tensor 'pos_embed' has " + std::to_string(tokens) + " positions: not " + std::to_string(prefix) +
                     " prefix token(s) plus a square grid of patches, nor a square grid alone");
  c.pos_grid = g;
  c.pos_resample = family_facts(family).pos_resample;
  if (image_size <= 0 && hints.input_size <= 0 && g == 0)
    throw ModelError(
        "no tensor 'pos_embed' (rotary position embeddings alone): the image size is not in the tensors; pass "
        "--image-size N or put timm's config.json (pretrained_cfg.input_size) beside the weights");
  choose_image_size(hints, image_size, g * c.patch_size, c);
  if (g == 0) c.pos_grid = c.grid();
}

// The side the model runs at: --image-size, else the published preprocessing's, else `stored`
// (the grid its position embeddings were saved for).
void choose_image_size(const ModelHints& hints, int64_t image_size, int64_t stored, ViTConfig& c) {
  c.image_size = image_size > 0 ? image_size : hints.input_size > 0 ? hints.input_size : stored;
  if (image_size > 0 && image_size % c.patch_size != 0)
    throw UsageError("--image-size " + std::to_string(image_size) + " is not a multiple of the model's patch size " +
                     std::to_string(c.patch_size) + " (try " +
                     std::to_string(image_size / c.patch_size * c.patch_size) + " or " +
                     std::to_string((image_size / c.patch_size + 1) * c.patch_size) + ")");
  if (c.image_size % c.patch_size != 0)
    throw ModelError("image size " + std::to_string(c.image_size) + " is not a multiple of the patch size " +
                     std::to_string(c.patch_size));
  if (c.image_size > kMaxImageSize) throw ModelError("image size " + std::to_string(c.image_size) + " is over 16384");
  // A config's size is untrusted: 16384 px would mean a 1024x1024 grid and gigabytes of
  // position embeddings and activations. Only the user can ask for more than kMaxModelImageSize.
  if (image_size <= 0 && c.image_size > kMaxModelImageSize)
    throw ModelError(
        std::string(hints.input_size > 0 ? "the model's config asks for" : "the position embeddings are for") + " " +
        std::to_string(c.image_size) + " x " + std::to_string(c.image_size) + " pixel inputs, over the " +
        std::to_string(kMaxModelImageSize) +
        " a model's own files may ask for (a corrupt or hostile config?); pass --image-size N to run it at "
        "N x N pixels");
}

}  // namespace

ViTConfig infer_config(const Tensors& t, const ModelHints& hints, Family family, int64_t image_size) {
  ViTConfig c;
  if (is_xcit(t)) {  // no single patch conv, no stored position embeddings: sizes from its own tensors
    read_xcit(t, hints, c);
    read_head(t, hints, family, c);
    choose_image_size(hints, image_size, 224, c);  // timm's img_size default; the encoding fits any grid
    c.pos_grid = c.grid();
    return c;
  }
  read_sizes(t, c);
  read_parts(t, c);
  read_rel_pos(t, c);                                    // BEiT, timm relpos: the heads from the bias's columns
  if (c.rel_pos == RelPos::None) read_eva(t, hints, c);  // their q_bias/v_bias are not eva.py's
  if (hints.block && c.block != BlockKind::Parallel) c.block = *hints.block;
  if (hints.act && c.act != Activation::SwiGlu) c.act = *hints.act;
  read_head(t, hints, family, c);
  read_cait(t, hints.heads, c);
  read_grid(t, hints, family, image_size, c);
  // Dinov2WithRegisters (its registers found among Hugging Face's tensors) resamples with antialias.
  if (family == Family::HuggingFace && c.reg_tokens) c.pos_resample = PosResample::TimmAntialias;
  if (!c.talking_heads && c.rel_pos == RelPos::None)
    c.heads = hints.heads > 0 ? hints.heads : default_heads_for_dim(c.dim);
  if (c.heads <= 0)
    throw ModelError("cannot tell the number of attention heads for width " + std::to_string(c.dim) +
                     ": pass --heads N or put the model's config.json beside the weights");
  if (c.dim % c.heads != 0)
    throw ModelError("width " + std::to_string(c.dim) + " is not divisible by " + std::to_string(c.heads) + " heads");
  if (c.diff_attention && c.head_dim() % 2 != 0)
    throw ModelError("differential attention needs an even head width; " + std::to_string(c.dim) + " / " +
                     std::to_string(c.heads) + " heads is " + std::to_string(c.head_dim()));
  if (hints.eps) c.eps = *hints.eps;
  return c;
}

namespace {

void block_shapes(const ViTConfig& c, const std::string& b, std::map<std::string, std::vector<int64_t>>& s) {
  const int64_t D = c.dim, H = c.mlp_dim, hd = c.qk_head_dim();
  auto lin = [&](const std::string& n, int64_t out, int64_t in, bool bias) {
    s[b + n + ".weight"] = {out, in};
    if (bias) s[b + n + ".bias"] = {out};
  };
  auto ln = [&](const std::string& n, int64_t w) { s[b + n + ".weight"] = s[b + n + ".bias"] = {w}; };
  auto diff = [&](const std::string& at) {  // differential attention's lambdas and sub_norm
    if (!c.diff_attention) return;
    for (const char* n : c.diff_dual_lambda
                             ? std::vector<const char*>{"lambda_a", "lambda_b"}
                             : std::vector<const char*>{"lambda_q1", "lambda_k1", "lambda_q2", "lambda_k2"})
      s[b + at + n] = c.diff_dual_lambda ? std::vector<int64_t>{} : std::vector<int64_t>{hd};
    s[b + at + "sub_norm.weight"] = {2 * hd};
  };
  if (c.block == BlockKind::Parallel) {
    ln("in_norm", D);
    lin("in_proj", H + 3 * D, D, c.qkv_bias);
    if (!c.qkv_bias) s[b + "mlp_bias"] = {H};
    if (c.qk_norm) ln("q_norm", hd), ln("k_norm", hd);
    diff("");
    if (c.fused_out_proj) {
      lin("out_proj", D, D + H, c.proj_bias);
    } else {
      lin("attn_out_proj", D, D, c.proj_bias);
      lin("mlp_out_proj", D, H, c.proj_bias);
    }
    if (c.layer_scale) s[b + "ls.gamma"] = {D};
    return;
  }
  const int64_t inner = c.act == Activation::SwiGlu ? H / 2 : H;
  ln("norm1", D);
  ln("norm2", D);
  lin("attn.qkv", 3 * D, D, c.qkv_bias);
  if (c.qk_norm) ln("attn.q_norm", hd), ln("attn.k_norm", hd);
  diff("attn.");
  if (c.attn_norm) ln("attn.norm", D);
  lin("attn.proj", D, D, c.proj_bias);
  lin("mlp.fc1", H, D, c.proj_bias);
  if (c.mlp_norm) ln("mlp.norm", inner);
  lin("mlp.fc2", D, inner, c.proj_bias);
  if (c.layer_scale) s[b + "ls1.gamma"] = s[b + "ls2.gamma"] = {D};
  rel_pos_shapes(c, b, s);
}

}  // namespace

std::map<std::string, std::vector<int64_t>> expected_shapes(const ViTConfig& c) {
  const int64_t D = c.dim, K = c.num_classes;
  if (c.xcit) {
    std::map<std::string, std::vector<int64_t>> s{{"head.weight", {K, c.head_in()}}, {"head.bias", {K}}};
    xcit_shapes(c, s);
    return s;
  }
  std::map<std::string, std::vector<int64_t>> s{
      {"patch_embed.proj.weight", {D, c.proj_in(), c.proj_kernel(), c.proj_kernel()}},
      {"head.weight", {K, c.head_in()}},
      {"head.bias", {K}},
  };
  if (c.abs_pos) s["pos_embed"] = {1, c.pos_tokens(c.pos_grid), D};
  rel_pos_shapes(c, "", s);
  if (c.patch_bias) s["patch_embed.proj.bias"] = {D};
  if (c.hybrid) hybrid_stem_shapes(c.hybrid_stem, c.in_chans, s);
  if (c.class_token) s["cls_token"] = {1, 1, D};
  if (c.distilled) s["dist_token"] = {1, 1, D};
  if (c.reg_tokens) s["reg_token"] = {1, c.reg_tokens, D};
  for (const auto& [on, name] : {std::pair{c.norm_pre, "norm_pre"}, {c.final_norm, "norm"}, {c.fc_norm, "fc_norm"}})
    if (on) s[std::string(name) + ".weight"] = s[std::string(name) + ".bias"] = {D};
  if (c.dist_head) {
    s["head_dist.weight"] = {K, D};
    s["head_dist.bias"] = {K};
  }
  if (c.pool == Pool::Map) {
    s["attn_pool.latent"] = {1, 1, D};
    for (const auto& [n, out, in] : {std::tuple{"q", D, D},
                                     {"kv", 2 * D, D},
                                     {"proj", D, D},
                                     {"mlp.fc1", c.pool_mlp_dim, D},
                                     {"mlp.fc2", D, c.pool_mlp_dim}}) {
      s[std::string("attn_pool.") + n + ".weight"] = {out, in};
      s[std::string("attn_pool.") + n + ".bias"] = {out};
    }
    s["attn_pool.norm.weight"] = s["attn_pool.norm.bias"] = {D};
  }
  eva_shapes(c, s);
  for (int64_t i = 0; i < c.depth; ++i)
    (c.eva ? eva_block_shapes : block_shapes)(c, "blocks." + std::to_string(i) + ".", s);
  cait_shapes(c, s);
  return s;
}

}  // namespace vit
