// Relative position bias blocks (BEiT, timm relpos); see include/vit/model/beit_layers.h.
#include "vit/model/beit_layers.h"

#include <cmath>

#include "vit/errors.h"

namespace vit {

namespace {

// timm's gen_relative_position_index over a g x g grid: for patches i, j (row-major),
// (yi - yj + g - 1) (2g - 1) + (xi - xj + g - 1); with a class token (BEiT), one more row and
// column: class->patch R, patch->class R + 1, class->class R + 2, R = (2g-1)^2. (T*T) int64.
torch::Tensor relative_index(int64_t g, bool class_token) {
  const int64_t N = g * g, R = (2 * g - 1) * (2 * g - 1), T = N + (class_token ? 1 : 0);
  auto index = torch::empty({T, T}, torch::kLong);
  auto a = index.accessor<int64_t, 2>();
  const int64_t o = class_token ? 1 : 0;
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < N; ++j) a[i + o][j + o] = (i / g - j / g + g - 1) * (2 * g - 1) + (i % g - j % g + g - 1);
  if (class_token) {
    for (int64_t j = 0; j < T; ++j) a[0][j] = R;
    for (int64_t i = 0; i < T; ++i) a[i][0] = R + 1;
    a[0][0] = R + 2;
  }
  return index.view({-1});
}

}  // namespace

RelPosSourceImpl::RelPosSourceImpl(const ViTConfig& cfg)
    : kind(cfg.rel_pos), heads(cfg.heads), grid(cfg.grid()), prefix(cfg.num_prefix_tokens()) {
  const int64_t R = (2 * grid - 1) * (2 * grid - 1);
  if (kind == RelPos::Table) {
    relative_position_bias_table = register_parameter("relative_position_bias_table", torch::zeros({R + 3, heads}));
    index = relative_index(grid, true);
  } else {
    auto mlp = register_module("mlp", std::make_shared<torch::nn::Module>());
    fc1 = mlp->register_module("fc1", torch::nn::Linear(2, cfg.rel_pos_hidden));
    fc2 = mlp->register_module("fc2", torch::nn::Linear(cfg.rel_pos_hidden, heads));
    index = relative_index(grid, false);
    // timm gen_relative_log_coords, mode 'cr': (dy, dx) for dy, dx in -(g-1)..g-1, float32.
    const auto d = torch::arange(-(grid - 1), grid, torch::kFloat32);
    const auto dy = d.view({-1, 1}).expand({2 * grid - 1, 2 * grid - 1});
    const auto dx = d.view({1, -1}).expand({2 * grid - 1, 2 * grid - 1});
    const auto c = torch::stack({dy, dx}, -1).reshape({R, 2});
    coords = torch::sign(c) * torch::log(1.0 + c.abs());
  }
}

torch::Tensor RelPosSourceImpl::forward() {
  if (kind == RelPos::Table) {
    const int64_t T = grid * grid + 1;
    const auto& table = relative_position_bias_table;  // the index follows it to its device
    return table.to(torch::kFloat32).index_select(0, index.to(table.device())).view({T, T, heads}).permute({2, 0, 1});
  }
  const int64_t N = grid * grid;
  const auto in = coords.to(fc1->weight.device(), fc1->weight.scalar_type());
  const auto table = fc2(torch::relu(fc1(in))).to(torch::kFloat32);  // (R, heads)
  auto bias = table.index_select(0, index.to(table.device())).view({N, N, heads}).permute({2, 0, 1});
  if (prefix == 0) return bias;
  namespace F = torch::nn::functional;
  return F::pad(bias, F::PadFuncOptions({prefix, 0, prefix, 0}));  // prefix rows and columns: 0
}

RelPosAttentionImpl::RelPosAttentionImpl(const ViTConfig& cfg, std::shared_ptr<RelPosSourceImpl> shared_)
    : heads(cfg.heads), shared(std::move(shared_)) {
  const int64_t D = cfg.dim;
  TORCH_CHECK(heads > 0 && D % heads == 0, "[RelPosAttention] dim ", D, " is not divisible by heads ", heads);
  qkv = register_module("qkv", linear(D, 3 * D, cfg.qkv_bias));
  if (cfg.qv_bias) {
    q_bias = register_parameter("q_bias", torch::zeros({D}));
    v_bias = register_parameter("v_bias", torch::zeros({D}));
  }
  if (cfg.qk_norm) {
    q_norm = register_module("q_norm", layer_norm(cfg.head_dim(), cfg.eps));
    k_norm = register_module("k_norm", layer_norm(cfg.head_dim(), cfg.eps));
  }
  if (!shared) {
    // BEiT's table sits on the attention itself; RelPosMlp's module is attn.rel_pos.mlp.
    own = std::make_shared<RelPosSourceImpl>(cfg);
    if (cfg.rel_pos == RelPos::Table)  // the same tensor, under the attention's name
      register_parameter("relative_position_bias_table", own->relative_position_bias_table);
    else
      register_module("rel_pos", own);
  }
  proj = register_module("proj", linear(D, D, cfg.proj_bias));
}

torch::Tensor RelPosAttentionImpl::bias() { return own ? own->forward() : shared->forward(); }

torch::Tensor RelPosAttentionImpl::forward(const torch::Tensor& x, torch::Tensor* attn_out) {
  const int64_t B = x.size(0), T = x.size(1);
  auto rows = qkv(x);
  if (q_bias.defined()) rows = rows + torch::cat({q_bias, torch::zeros_like(q_bias), v_bias}).to(rows.scalar_type());
  const auto parts = rows.chunk(3, -1);  // rows [q; k; v]
  const auto b = bias().contiguous();    // (heads, T, T)
  TORCH_CHECK(b.size(1) == T, "[RelPosAttention] a bias for ", b.size(1), " tokens, the input has ", T);
  torch::Tensor out;
  if (!attn_out && x.device().is_cpu() && parts[0].scalar_type() == torch::kFloat32) {
    const auto heads_of = [&](const torch::Tensor& p) {
      auto h = p.reshape({B, T, heads, -1});
      return h.stride(3) == 1 ? h : h.contiguous();
    };
    auto q = heads_of(parts[0]), k = heads_of(parts[1]);
    if (q_norm) {
      q = q_norm(q);
      k = k_norm(k);
    }
    out = attend_rows(q, k, heads_of(parts[2]), b);
  } else {
    auto q = parts[0].reshape({B, T, heads, -1}).transpose(1, 2);  // (B, h, T, hd)
    auto k = parts[1].reshape({B, T, heads, -1}).transpose(1, 2);
    const auto v = parts[2].reshape({B, T, heads, -1}).transpose(1, 2);
    if (q_norm) {
      q = q_norm(q);
      k = k_norm(k);
    }
    const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
    const auto attn = (torch::matmul(q * scale, k.transpose(-2, -1)) + b.to(q.scalar_type())).softmax(-1);
    if (attn_out) *attn_out = attn;
    out = torch::matmul(attn, v).transpose(1, 2).reshape({B, T, -1});
  }
  return proj(out);
}

RelPosBlockImpl::RelPosBlockImpl(const ViTConfig& cfg, std::shared_ptr<RelPosSourceImpl> shared)
    : post_norm(cfg.block == BlockKind::PostNorm) {
  norm1 = register_module("norm1", layer_norm(cfg.dim, cfg.eps));
  attn = register_module("attn", RelPosAttention(cfg, std::move(shared)));
  if (cfg.layer_scale) ls1 = register_module("ls1", LayerScale(cfg.dim));
  norm2 = register_module("norm2", layer_norm(cfg.dim, cfg.eps));
  mlp = register_module("mlp", Mlp(cfg.dim, cfg.mlp_dim, cfg.act, cfg.proj_bias, cfg.mlp_norm, cfg.eps));
  if (cfg.layer_scale) ls2 = register_module("ls2", LayerScale(cfg.dim));
}

torch::Tensor RelPosBlockImpl::forward(const torch::Tensor& x, torch::Tensor* attn_out) {
  if (post_norm) {  // ResPostRelPosBlock
    auto h = x + norm1(attn(x, attn_out));
    return h + norm2(mlp(h));
  }
  auto a = attn(norm1(x), attn_out);
  auto h = x + (ls1 ? ls1(a) : a);
  auto m = mlp(norm2(h));
  return h + (ls2 ? ls2(m) : m);
}

std::vector<NameRule> with_rel_pos_rules(Family family, std::vector<NameRule> rules) {
  const bool hf = family == Family::HuggingFace;
  if (family != Family::Timm && !hf) return rules;
#define VIT_BEIT_LAYER "beit.encoder.layer.#."
  const std::vector<NameRule> mine =
      hf ? std::vector<NameRule>{
               // before the ViT rules: BEiT's query/value biases are its q_bias/v_bias
               {VIT_BEIT_LAYER "attention.attention.query.bias", "blocks.$1.attn.q_bias"},
               {VIT_BEIT_LAYER "attention.attention.value.bias", "blocks.$1.attn.v_bias"},
               {VIT_BEIT_LAYER "lambda_(1|2)", "blocks.$1.ls$2.gamma"},
               {VIT_BEIT_LAYER "attention.attention.relative_position_bias.relative_position_bias_table",
                "blocks.$1.attn.relative_position_bias_table"},
               {VIT_BEIT_LAYER "attention.attention.relative_position_bias.relative_position_index", "-"},
               {"beit.encoder.relative_position_bias.relative_position_bias_table",
                "rel_pos_bias.relative_position_bias_table"},
               {"beit.encoder.relative_position_bias.relative_position_index", "-"},
               {"beit.pooler.layernorm.(weight|bias)", "fc_norm.$1"},  // use_mean_pooling
           }
         : std::vector<NameRule>{
               {"blocks.#.attn.{q_bias|v_bias|relative_position_bias_table}", "$&"},
               {"rel_pos_bias.relative_position_bias_table", "$&"},
               {"blocks.#.attn.rel_pos.mlp.{fc1|fc2}.{weight|bias}", "$&"},
               {"shared_rel_pos.mlp.{fc1|fc2}.{weight|bias}", "$&"},
               {"blocks.#.attn.{rel_pos.|}relative_position_index", "-"},
               {"{rel_pos_bias.|shared_rel_pos.}relative_position_index", "-"},
           };
#undef VIT_BEIT_LAYER
  rules.insert(hf ? rules.begin() : rules.end(), mine.begin(), mine.end());
  return rules;
}

const char* shared_rel_pos_name(const ViTConfig& cfg) {
  if (!cfg.rel_pos_shared) return nullptr;
  return cfg.rel_pos == RelPos::Table ? "rel_pos_bias" : "shared_rel_pos";
}

void read_rel_pos(const std::map<std::string, torch::Tensor>& t, ViTConfig& c) {
  const auto find = [&](const std::string& n) -> const torch::Tensor* {
    const auto it = t.find(n);
    return it == t.end() ? nullptr : &it->second;
  };
  const auto shape_error = [&](const std::string& name, const std::string& want) {
    return ModelError("tensor '" + name + "' has shape " + c10::str(find(name)->sizes()) + ", expected " + want);
  };
  const std::string table_names[] = {"blocks.0.attn.relative_position_bias_table",
                                     "rel_pos_bias.relative_position_bias_table"};
  const std::string mlp_names[] = {"blocks.0.attn.rel_pos.mlp.fc1.weight", "shared_rel_pos.mlp.fc1.weight"};
  c.qv_bias = find("blocks.0.attn.q_bias") != nullptr;
  int found = 0;
  for (int shared = 0; shared < 2; ++shared) {
    if (find(table_names[shared])) {
      ++found;
      c.rel_pos = RelPos::Table;
      c.rel_pos_shared = shared;
      const std::string& name = table_names[shared];
      const auto& table = *find(name);
      const int64_t rows = table.dim() == 2 ? table.size(0) - 3 : -1;
      const auto side = rows > 0 ? static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(rows)))) : 0;
      if (side * side != rows || side % 2 == 0)
        throw shape_error(name, "((2g-1)^2 + 3, heads) for a g x g patch grid and the class token's 3 rows");
      if (!c.class_token || c.num_prefix_tokens() != 1)
        throw ModelError("tensor '" + name + "': a BEiT relative position table needs exactly one prefix token, " +
                         "the class token ('cls_token'), and this model has " + std::to_string(c.num_prefix_tokens()));
      c.rel_pos_grid = (side + 1) / 2;
      c.heads = table.size(1);
    }
    if (find(mlp_names[shared])) {
      ++found;
      c.rel_pos = RelPos::Mlp;
      c.rel_pos_shared = shared;
      const std::string fc1 = mlp_names[shared], fc2 = fc1.substr(0, fc1.size() - 10) + "fc2.weight";
      if (find(fc1)->dim() != 2 || find(fc1)->size(1) != 2) throw shape_error(fc1, "(hidden, 2): (dy, dx) in");
      if (!find(fc2) || find(fc2)->dim() != 2 || find(fc2)->size(1) != find(fc1)->size(0))
        throw ModelError("tensor '" + fc2 + "' missing or not (heads, " + std::to_string(find(fc1)->size(0)) + ")");
      if (c.num_prefix_tokens() > 1)
        throw ModelError("tensor '" + fc1 + "': timm's RelPosMlp is used with at most a class token, and this " +
                         "model has " + std::to_string(c.num_prefix_tokens()) + " prefix tokens");
      c.rel_pos_hidden = find(fc1)->size(0);
      c.heads = find(fc2)->size(0);
    }
  }
  if (found > 1)
    throw ModelError("tensors '" + table_names[0] + "', '" + table_names[1] + "', '" + mlp_names[0] + "', '" +
                     mlp_names[1] + "': more than one relative position bias (shared and per block) is not supported");
  if (c.rel_pos != RelPos::None && (c.heads <= 0 || c.dim % c.heads != 0))
    throw ModelError("the relative position bias has " + std::to_string(c.heads) +
                     " heads, which do not divide width " + std::to_string(c.dim));
}

int64_t rel_pos_stored_grid(const ViTConfig& c, const ModelHints& hints, int64_t image_size) {
  if (c.rel_pos == RelPos::Table) return c.rel_pos_grid;
  const int64_t side = hints.input_size > 0 ? hints.input_size : image_size;
  if (c.rel_pos != RelPos::Mlp || side <= 0)
    throw ModelError(c.rel_pos == RelPos::Mlp
                         ? "a timm RelPosMlp model ('rel_pos.mlp' tensors, no 'pos_embed') stores no input size: put "
                           "timm's config.json (pretrained_cfg.input_size) beside the weights, or pass --image-size N"
                         : "missing tensor 'pos_embed' (canonical timm name)");
  return side / c.patch_size;
}

void rel_pos_shapes(const ViTConfig& c, const std::string& b, std::map<std::string, std::vector<int64_t>>& s) {
  if (c.qv_bias && !b.empty()) s[b + "attn.q_bias"] = s[b + "attn.v_bias"] = {c.dim};
  if (c.rel_pos == RelPos::None || b.empty() != c.rel_pos_shared) return;
  const int64_t H = c.heads, side = 2 * c.rel_pos_grid - 1;
  if (c.rel_pos == RelPos::Table) {
    s[b.empty() ? "rel_pos_bias.relative_position_bias_table" : b + "attn.relative_position_bias_table"] = {
        side * side + 3, H};
    return;
  }
  const std::string m = b.empty() ? "shared_rel_pos.mlp." : b + "attn.rel_pos.mlp.";
  s[m + "fc1.weight"] = {c.rel_pos_hidden, 2};
  s[m + "fc1.bias"] = {c.rel_pos_hidden};
  s[m + "fc2.weight"] = {H, c.rel_pos_hidden};
  s[m + "fc2.bias"] = {H};
}

namespace {

// The unevenly spaced source coordinates of timm's _calc: a geometric progression whose ratio
// q (bisected in [1.01, 1.5]) spreads src // 2 steps over dst // 2, mirrored about 0.
torch::Tensor progression(int64_t src, int64_t dst) {
  double left = 1.01, right = 1.5, q = 0;
  while (right - left > 1e-6) {
    q = (left + right) / 2.0;
    const double gp = (1.0 - std::pow(q, static_cast<double>(src / 2))) / (1.0 - q);
    (gp > static_cast<double>(dst / 2) ? right : left) = q;
  }
  std::vector<double> dis;
  double cur = 1;
  for (int64_t i = 0; i < src / 2; ++i) {
    dis.push_back(cur);
    cur += std::pow(q, static_cast<double>(i + 1));
  }
  std::vector<float> out;
  for (auto it = dis.rbegin(); it != dis.rend(); ++it) out.push_back(static_cast<float>(-*it));
  out.push_back(0.0f);
  for (double d : dis) out.push_back(static_cast<float>(d));
  return torch::tensor(out, torch::kFloat32);
}

// timm's RegularGridInterpolator, linear in each dimension: for target x (dst, dst), the index
// of the point at or right of it, the one left of it, and the distances to both.
struct Side {
  torch::Tensor left, right, dist_left, dist_right;
};
Side locate(const torch::Tensor& points, const torch::Tensor& x) {
  const int64_t n = points.size(0);
  auto right = torch::bucketize(x, points).clamp_max(n - 1);
  auto left = (right - 1).clamp(0, n - 1);
  auto dl = (x - points.index_select(0, left.flatten()).view_as(x)).clamp_min(0);
  auto dr = (points.index_select(0, right.flatten()).view_as(x) - x).clamp_min(0);
  const auto both_zero = (dl == 0) & (dr == 0);
  dl = torch::where(both_zero, torch::ones_like(dl), dl);
  dr = torch::where(both_zero, torch::ones_like(dr), dr);
  return {left, right, dl, dr};
}

}  // namespace

torch::Tensor resize_rel_pos_table(const torch::Tensor& table, int64_t new_grid) {
  const int64_t dst = 2 * new_grid - 1, heads = table.size(1);
  const auto src = static_cast<int64_t>(std::sqrt(static_cast<double>(table.size(0) - 3)));
  if (src == dst) return table;
  const auto planes = table.slice(0, 0, src * src).to(torch::kFloat32);  // ((src^2), heads)
  const auto points = progression(src, dst);
  const auto t = static_cast<double>(dst / 2);
  const auto d = torch::arange(-t, t + 0.1, 1.0, torch::kFloat32);  // dst target coordinates
  const Side y = locate(points, d.view({-1, 1}).expand({dst, dst}));
  const Side x = locate(points, d.view({1, -1}).expand({dst, dst}));
  std::vector<torch::Tensor> out;
  for (int64_t h = 0; h < heads; ++h) {
    const auto z = planes.select(1, h).reshape({src, src});
    const auto at = [&](const torch::Tensor& iy, const torch::Tensor& ix) { return z.index({iy, ix}); };
    // Sum of the 4 corners weighted by the opposite distances, in timm's order.
    auto num = at(y.left, x.left) * (y.dist_right * x.dist_right);
    num = num + at(y.left, x.right) * (y.dist_right * x.dist_left);
    num = num + at(y.right, x.left) * (y.dist_left * x.dist_right);
    num = num + at(y.right, x.right) * (y.dist_left * x.dist_left);
    out.push_back((num / ((y.dist_left + y.dist_right) * (x.dist_left + x.dist_right))).reshape({-1, 1}));
  }
  return torch::cat({torch::cat(out, 1), table.slice(0, src * src).to(torch::kFloat32)}, 0).to(table.scalar_type());
}

}  // namespace vit
