// timm eva.py's blocks and rotary position embeddings; see include/vit/model/eva_layers.h.
#include "vit/model/eva_layers.h"

#include <nlohmann/json.hpp>

#include "vit/errors.h"

namespace vit {

namespace {

using Tensors = std::map<std::string, torch::Tensor>;
using nlohmann::json;

// What an architecture of eva.py is built with that no tensor shows.
struct RopeSettings {
  bool known = false;  // an eva.py architecture (or model_args saying so)
  Rope rope = Rope::None;
  double temperature = 10000;
  bool xy = false;
  int64_t ref_grid = 0;
  double offset = 0;
  bool rotate_half = false;
};

bool starts(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }
bool has_part(const std::string& s, const char* p) { return s.find(p) != std::string::npos; }

// timm 1.0.28's eva.py definitions, by name: EVA-02 (ref_feat_shape 16), EVA giant (no rope),
// ROPE-ViT mixed (temperature 10, 'xy') and axial (100, 'xy'), timm's SBB rope models.
RopeSettings architecture_rope(const std::string& a) {
  RopeSettings r;
  r.known = true;
  if (starts(a, "eva02_")) {
    r.rope = Rope::Cat, r.ref_grid = 16;
  } else if (starts(a, "eva_")) {
    r.rope = Rope::None;
  } else if (starts(a, "vit_") && has_part(a, "_rope_mixed")) {
    r.rope = Rope::Mixed, r.temperature = 10, r.xy = true;
  } else if (starts(a, "vit_") && has_part(a, "_rope_reg")) {
    r.rope = Rope::Cat, r.ref_grid = 16;
  } else if (starts(a, "vit_") && has_part(a, "_rope_")) {
    r.rope = Rope::Cat, r.temperature = 100, r.xy = true;
  } else {
    r.known = false;
  }
  return r;
}

[[noreturn]] void refuse_arg(const std::string& key, const std::string& value, const std::string& why) {
  throw ModelError("model_args." + key + " = " + value + " is not supported: " + why);
}

// model_args over the architecture's settings (each value as config.json wrote it).
void apply_model_args(const std::map<std::string, std::string>& args, RopeSettings& r) {
  for (const auto& [key, text] : args) {
    json v;
    try {
      v = json::parse(text);
    } catch (const json::exception&) {
      refuse_arg(key, text, "not JSON");
    }
    const auto number = [&] {
      if (!v.is_number()) refuse_arg(key, text, "expected a number");
      return v.get<double>();
    };
    if (key == "use_rot_pos_emb") {
      if (!v.is_boolean()) refuse_arg(key, text, "expected true or false");
      if (!r.known && v.get<bool>()) r.rope = Rope::Cat;  // Eva's defaults
      if (!v.get<bool>()) r.rope = Rope::None;
      r.known = true;
    } else if (key == "rope_type") {
      if (v == "cat") {
        if (r.rope != Rope::None) r.rope = Rope::Cat;
      } else if (v == "mixed") {
        if (r.rope != Rope::None) r.rope = Rope::Mixed;
      } else {
        refuse_arg(key, text, "vit-classify builds timm's 'cat' and 'mixed' rotary embeddings");
      }
    } else if (key == "rope_temperature") {
      r.temperature = number();
    } else if (key == "rope_grid_offset") {
      r.offset = number();
    } else if (key == "rope_grid_indexing") {
      if (v != "ij" && v != "xy") refuse_arg(key, text, "expected 'ij' or 'xy'");
      r.xy = v == "xy";
    } else if (key == "ref_feat_shape") {
      if (v.is_null()) {
        r.ref_grid = 0;
      } else if (v.is_number_integer() && v.get<int64_t>() > 0) {
        r.ref_grid = v.get<int64_t>();
      } else if (v.is_array() && v.size() == 2 && v[0].is_number_integer() && v[0] == v[1] && v[0].get<int64_t>() > 0) {
        r.ref_grid = v[0].get<int64_t>();
      } else {
        refuse_arg(key, text, "expected a positive side or a square [side, side]");
      }
    } else if (key == "rope_rotate_half") {
      if (!v.is_boolean()) refuse_arg(key, text, "expected true or false");
      r.rotate_half = v.get<bool>();
    } else if (key == "use_post_norm") {
      if (v != false) refuse_arg(key, text, "post-norm EVA blocks (EvaBlockPostNorm) are not built");
    } else if (key == "attn_head_dim") {
      if (!v.is_null()) refuse_arg(key, text, "an attention width other than the token width is not built");
    }
    // The others (swiglu_mlp, scale_mlp, qkv_fused, use_abs_pos_emb, ...) are shown by the tensors.
  }
}

}  // namespace

bool is_eva_model_arg(const std::string& key) {
  static const char* keys[] = {
      "use_rot_pos_emb",
      "rope_type",
      "rope_temperature",
      "rope_grid_offset",
      "rope_grid_indexing",
      "ref_feat_shape",
      "rope_rotate_half",
      "use_post_norm",
      "attn_head_dim",
      "attn_type",
      "swiglu_mlp",
      "swiglu_align_to",
      "scale_mlp",
      "scale_attn_inner",
      "qkv_fused",
      "num_reg_tokens",
      "use_abs_pos_emb",
      "use_fc_norm",
      "use_post_transformer_norm",
      "use_pre_transformer_norm",
      "head_init_scale",
  };
  for (const char* k : keys)
    if (key == k) return true;
  return false;
}

void read_eva(const Tensors& t, const ModelHints& hints, ViTConfig& c) {
  const auto has = [&](const std::string& n) { return t.count(n) > 0; };
  c.eva_qv_bias = has("blocks.0.attn.q_bias");
  c.eva_qkv_split = has("blocks.0.attn.q_proj.weight");
  c.eva_swiglu_split = has("blocks.0.mlp.fc1_g.weight");
  c.abs_pos = has("pos_embed");
  const bool mixed = has("rope.freqs");
  // The tensor that shows an eva.py model, for messages; "" when none does.
  const std::string shown = c.eva_qv_bias        ? "blocks.0.attn.q_bias"
                            : c.eva_qkv_split    ? "blocks.0.attn.q_proj.weight"
                            : c.eva_swiglu_split ? "blocks.0.mlp.fc1_g.weight"
                            : mixed              ? "rope.freqs"
                            : !c.abs_pos         ? "pos_embed"
                                                 : "";
  RopeSettings r = architecture_rope(hints.architecture);
  apply_model_args(hints.eva_args, r);
  // Not an eva.py model, or one the ViT of vision_transformer.py computes as it is (no rope, no
  // EVA tensors: vision_transformer.py's own eva_large_patch14_* among them).
  if (shown.empty() && r.rope == Rope::None) return;
  if (!r.known)
    throw ModelError(std::string("a timm eva.py-style checkpoint (") +
                     (shown == "pos_embed" ? "no tensor 'pos_embed'" : "tensor '" + shown + "'") +
                     ") whose rotary position embeddings are not in its tensors: put timm's config.json (its "
                     "architecture, e.g. eva02_base_patch14_448) beside the weights");
  c.eva = true;
  c.rope = r.rope;
  c.rope_temperature = r.temperature;
  c.rope_xy = r.xy;
  c.rope_ref_grid = r.ref_grid;
  c.rope_grid_offset = r.offset;
  c.rope_rotate_half = r.rotate_half;
  if (mixed && c.rope != Rope::Mixed)
    throw ModelError(
        "tensor 'rope.freqs' (learned rotary frequencies, timm RotaryEmbeddingMixed) in a model whose "
        "architecture '" +
        hints.architecture + "' has " +
        (c.rope == Rope::None ? "no rotary embeddings" : "fixed ('cat') rotary embeddings"));
  if (!mixed && c.rope == Rope::Mixed) throw ModelError("missing tensor 'rope.freqs' (timm RotaryEmbeddingMixed)");
  if (!c.abs_pos && c.rope == Rope::None)
    throw ModelError("missing tensor 'pos_embed': an eva.py model without rotary embeddings needs it");
  if (c.eva_qkv_split || c.eva_qv_bias) c.qkv_bias = c.eva_qv_bias || has("blocks.0.attn.q_proj.bias");
  if (c.qk_norm) throw ModelError("tensor 'blocks.0.attn.q_norm.weight': q/k norm in EVA attention is not built");
}

void eva_block_shapes(const ViTConfig& c, const std::string& b, std::map<std::string, std::vector<int64_t>>& s) {
  const int64_t D = c.dim, H = c.mlp_dim;
  auto lin = [&](const std::string& n, int64_t out, int64_t in, bool bias) {
    s[b + n + ".weight"] = {out, in};
    if (bias) s[b + n + ".bias"] = {out};
  };
  auto ln = [&](const std::string& n, int64_t w) { s[b + n + ".weight"] = s[b + n + ".bias"] = {w}; };
  ln("norm1", D);
  ln("norm2", D);
  if (c.eva_qkv_split) {
    lin("attn.q_proj", D, D, c.qkv_bias);
    lin("attn.k_proj", D, D, false);
    lin("attn.v_proj", D, D, c.qkv_bias);
  } else {
    lin("attn.qkv", 3 * D, D, c.qkv_bias && !c.eva_qv_bias);
    if (c.eva_qv_bias) s[b + "attn.q_bias"] = s[b + "attn.v_bias"] = {D};
  }
  if (c.attn_norm) ln("attn.norm", D);
  lin("attn.proj", D, D, c.proj_bias);
  const int64_t inner = c.act == Activation::SwiGlu ? H / 2 : H;
  if (c.eva_swiglu_split) {
    lin("mlp.fc1_g", inner, D, c.proj_bias);
    lin("mlp.fc1_x", inner, D, c.proj_bias);
  } else {
    lin("mlp.fc1", H, D, c.proj_bias);
  }
  if (c.mlp_norm) ln("mlp.norm", inner);
  lin("mlp.fc2", D, inner, c.proj_bias);
  if (c.layer_scale) s[b + "ls1.gamma"] = s[b + "ls2.gamma"] = {D};
}

void eva_shapes(const ViTConfig& c, std::map<std::string, std::vector<int64_t>>& s) {
  if (c.rope == Rope::Mixed) s["rope.freqs"] = {2, c.depth, c.heads, c.head_dim() / 2};
}

torch::Tensor rope_cat_table(const ViTConfig& c, int64_t g) {
  // timm build_rotary_pos_embed(in_pixels=False): bands 1 / T^(i / nb), i < nb = hd / 4.
  const int64_t nb = c.head_dim() / 4;
  const auto exps = torch::arange(nb, torch::TensorOptions().dtype(torch::kInt64)).to(torch::kFloat32) / nb;
  const auto bands = torch::pow(c.rope_temperature, exps).reciprocal();
  auto t = torch::arange(g, torch::TensorOptions().dtype(torch::kInt64)).to(torch::kFloat32) + c.rope_grid_offset;
  if (c.rope_ref_grid > 0) t = t / static_cast<double>(g) * static_cast<double>(c.rope_ref_grid);
  const auto mesh = torch::meshgrid({t, t}, c.rope_xy ? "xy" : "ij");
  const auto grid = torch::stack({mesh[0], mesh[1]}, -1).unsqueeze(-1);  // (g, g, 2, 1)
  const auto pos = grid * bands;                                         // (g, g, 2, nb)
  const auto sin = pos.sin().reshape({g * g, -1}).repeat_interleave(2, -1);
  const auto cos = pos.cos().reshape({g * g, -1}).repeat_interleave(2, -1);
  return torch::cat({sin, cos}, -1).contiguous();  // (N, 2 hd)
}

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& table, bool rotate_half) {
  const auto halves = table.chunk(2, -1);  // sin, cos: (..., N, hd)
  torch::Tensor rotated;
  if (rotate_half) {
    const auto parts = x.chunk(2, -1);
    rotated = torch::cat({-parts[1], parts[0]}, -1);
  } else {  // [x0 x1 x2 x3] -> [-x1 x0 -x3 x2]
    const auto even = x.slice(-1, 0, c10::nullopt, 2), odd = x.slice(-1, 1, c10::nullopt, 2);
    rotated = torch::stack({-odd, even}, -1).reshape(x.sizes());
  }
  return x * halves[1] + rotated * halves[0];
}

EvaRopeImpl::EvaRopeImpl(const ViTConfig& cfg) : kind(cfg.rope), heads(cfg.heads) {
  TORCH_CHECK(cfg.head_dim() % 4 == 0, "[EvaRope] rotary embeddings need a head width divisible by 4, got ",
              cfg.head_dim());
  const int64_t g = cfg.grid();
  if (kind == Rope::Cat) cat_table = register_buffer("cat_table", rope_cat_table(cfg, g));
  if (kind == Rope::Mixed) {
    freqs = register_parameter("freqs", torch::zeros({2, cfg.depth, cfg.heads, cfg.head_dim() / 2}));
    // timm get_mixed_grid: t_x the first meshgrid output ('xy': the column index).
    const auto a = torch::arange(g, torch::TensorOptions().dtype(torch::kFloat32));
    const auto mesh = torch::meshgrid({a, a}, cfg.rope_xy ? "xy" : "ij");
    t_x = register_buffer("t_x", mesh[0].flatten().contiguous());
    t_y = register_buffer("t_y", mesh[1].flatten().contiguous());
  }
}

torch::Tensor EvaRopeImpl::table(int64_t block) const {
  if (kind == Rope::Cat) return cat_table;
  // timm get_mixed_freqs: (N, 1) @ (heads, 1, hd/2) per axis, summed; sin and cos repeated.
  const auto f = freqs.to(torch::kFloat32);
  const auto fx = torch::matmul(t_x.unsqueeze(-1), f[0][block].unsqueeze(-2));
  const auto fy = torch::matmul(t_y.unsqueeze(-1), f[1][block].unsqueeze(-2));
  const auto both = fx + fy;  // (heads, N, hd/2)
  return torch::cat({both.sin().repeat_interleave(2, -1), both.cos().repeat_interleave(2, -1)}, -1);
}

torch::Tensor EvaRopeImpl::position_rows() const {
  auto tab = table(0);  // (N, 2 hd) or (heads, N, 2 hd)
  if (tab.dim() == 2) tab = tab.unsqueeze(0).expand({heads, -1, -1});
  const int64_t hd = tab.size(-1) / 2;
  const auto sin = tab.slice(-1, 0, hd, 2), cos = tab.slice(-1, hd, 2 * hd, 2);                  // each frequency once
  return torch::cat({sin, cos}, -1).permute({1, 0, 2}).reshape({tab.size(1), -1}).contiguous();  // (N, D)
}

EvaAttentionImpl::EvaAttentionImpl(const ViTConfig& cfg)
    : heads(cfg.heads), prefix(cfg.num_prefix_tokens()), rotate_half(cfg.rope_rotate_half) {
  const int64_t D = cfg.dim;
  if (cfg.eva_qkv_split) {
    q_proj = register_module("q_proj", linear(D, D, cfg.qkv_bias));
    k_proj = register_module("k_proj", linear(D, D, false));
    v_proj = register_module("v_proj", linear(D, D, cfg.qkv_bias));
  } else {
    qkv = register_module("qkv", linear(D, 3 * D, cfg.qkv_bias && !cfg.eva_qv_bias));
    if (cfg.eva_qv_bias) {
      q_bias = register_parameter("q_bias", torch::zeros({D}));
      v_bias = register_parameter("v_bias", torch::zeros({D}));
    }
  }
  if (cfg.attn_norm) norm = register_module("norm", layer_norm(D, cfg.eps));
  proj = register_module("proj", linear(D, D, cfg.proj_bias));
}

torch::Tensor EvaAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& table, torch::Tensor* attn_out) {
  const int64_t B = x.size(0), T = x.size(1), D = x.size(2);
  torch::Tensor q, k, v;
  if (q_proj) {
    const auto heads_of = [&](const torch::Tensor& y) { return y.view({B, T, heads, -1}).transpose(1, 2); };
    q = heads_of(q_proj(x)), k = heads_of(k_proj(x)), v = heads_of(v_proj(x));
  } else {
    auto y = qkv(x);  // (B, T, 3D)
    if (q_bias.defined()) y = y + torch::cat({q_bias, torch::zeros_like(q_bias), v_bias});
    const auto parts = y.view({B, T, 3, heads, -1}).permute({2, 0, 3, 1, 4}).unbind(0);
    q = parts[0], k = parts[1], v = parts[2];  // (B, h, T, hd)
  }
  if (table.defined()) {  // the patches only: the class and register tokens are not rotated
    const auto rotate = [&](const torch::Tensor& y) {
      return torch::cat({y.slice(2, 0, prefix), apply_rope(y.slice(2, prefix), table, rotate_half)}, 2);
    };
    q = rotate(q), k = rotate(k);
  }
  torch::Tensor o;
  const auto rows = [](const torch::Tensor& y) { return y.transpose(1, 2); };  // (B, T, h, hd) views
  if (!attn_out && x.device().is_cpu() && q.scalar_type() == torch::kFloat32 && q.stride(3) == 1 && k.stride(3) == 1 &&
      v.stride(3) == 1)
    o = attend_rows(rows(q), rows(k), rows(v));  // read in place, written merged: (B, T, D)
  else
    o = attend(q.contiguous(), k.contiguous(), v.contiguous(), attn_out).transpose(1, 2).reshape({B, T, D});
  if (norm) o = norm(o);
  return proj(o);
}

EvaSwiGluImpl::EvaSwiGluImpl(const ViTConfig& cfg) {
  const int64_t inner = cfg.mlp_dim / 2;
  fc1_g = register_module("fc1_g", linear(cfg.dim, inner, cfg.proj_bias));
  fc1_x = register_module("fc1_x", linear(cfg.dim, inner, cfg.proj_bias));
  if (cfg.mlp_norm) norm = register_module("norm", layer_norm(inner, cfg.eps));
  fc2 = register_module("fc2", linear(inner, cfg.dim, cfg.proj_bias));
}

torch::Tensor EvaSwiGluImpl::forward(const torch::Tensor& x) {
  auto h = torch::silu(fc1_g(x)) * fc1_x(x);
  if (norm) h = norm(h);
  return fc2(h);
}

EvaBlockImpl::EvaBlockImpl(const ViTConfig& cfg, int64_t index_, EvaRope rope_) : index(index_), rope(rope_) {
  norm1 = register_module("norm1", layer_norm(cfg.dim, cfg.eps));
  attn = register_module("attn", EvaAttention(cfg));
  if (cfg.layer_scale) ls1 = register_module("ls1", LayerScale(cfg.dim));
  norm2 = register_module("norm2", layer_norm(cfg.dim, cfg.eps));
  if (cfg.eva_swiglu_split)
    swiglu = register_module("mlp", EvaSwiGlu(cfg));
  else
    mlp = register_module("mlp", Mlp(cfg.dim, cfg.mlp_dim, cfg.act, cfg.proj_bias, cfg.mlp_norm, cfg.eps));
  if (cfg.layer_scale) ls2 = register_module("ls2", LayerScale(cfg.dim));
}

torch::Tensor EvaBlockImpl::forward(const torch::Tensor& x, torch::Tensor* attn_out) {
  const torch::Tensor table = rope ? rope->table(index) : torch::Tensor();
  auto a = attn(norm1(x), table, attn_out);
  auto y = x + (ls1 ? ls1(a) : a);
  const auto h = norm2(y);
  auto m = swiglu ? swiglu(h) : mlp(h);
  return y + (ls2 ? ls2(m) : m);
}

}  // namespace vit
