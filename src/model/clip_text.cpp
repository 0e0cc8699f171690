// CLIP's text tower; see include/vit/model/clip_text.h.
#include "vit/model/clip_text.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "vit/errors.h"
#include "vit/model/names.h"

namespace vit {

std::string TextTowerConfig::describe() const {
  return "text tower W=" + std::to_string(width) + " depth=" + std::to_string(depth) +
         " heads=" + std::to_string(heads) + " context=" + std::to_string(context) + " E=" + std::to_string(embed_dim);
}

TextBlockImpl::TextBlockImpl(const TextTowerConfig& c) : heads(c.heads) {
  norm1 = register_module("norm1", layer_norm(c.width, c.eps));
  auto attn = register_module("attn", std::make_shared<torch::nn::Module>());
  qkv = attn->register_module("qkv", linear(c.width, 3 * c.width, true));
  proj = attn->register_module("proj", linear(c.width, c.width, true));
  if (c.layer_scale) ls1 = register_module("ls1", LayerScale(c.width));
  norm2 = register_module("norm2", layer_norm(c.width, c.eps));
  mlp = register_module("mlp", Mlp(c.width, c.mlp_dim, c.act, true, false, c.eps));
  if (c.layer_scale) ls2 = register_module("ls2", LayerScale(c.width));
}

torch::Tensor TextBlockImpl::forward(const torch::Tensor& x_in, const torch::Tensor& causal_mask) {
  const int64_t B = x_in.size(0), T = x_in.size(1), W = x_in.size(2), hd = W / heads;
  const auto parts = qkv(norm1(x_in)).view({B, T, 3, heads, hd}).permute({2, 0, 3, 1, 4});  // (3, B, h, T, hd)
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  // As torch.nn.MultiheadAttention with an additive mask: softmax(q k^T / sqrt(hd) + mask) v.
  const auto weights = (torch::matmul(parts[0] * scale, parts[1].transpose(-2, -1)) + causal_mask).softmax(-1);
  auto y = proj(torch::matmul(weights, parts[2]).transpose(1, 2).reshape({B, T, W}));
  auto x = x_in + (ls1 ? ls1(y) : y);
  auto m = mlp(norm2(x));
  return x + (ls2 ? ls2(m) : m);
}

TextTowerImpl::TextTowerImpl(const TextTowerConfig& c) : cfg_(c) {
  token_embedding = register_parameter("token_embedding", torch::zeros({c.vocabulary, c.width}));
  pos_embed = register_parameter("pos_embed", torch::zeros({c.context, c.width}));
  logit_scale = register_parameter("logit_scale", torch::zeros({}));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.depth; ++i) blocks->push_back(TextBlock(c));
  norm = register_module("norm", layer_norm(c.width, c.eps));
  proj = register_module("proj", linear(c.width, c.embed_dim, c.proj_bias));
}

namespace {
// Prompts per forward pass at most, and tokens (prompts x padded length) per pass: the
// attention weights of a pass are heads x prompts x length^2 floats.
constexpr size_t kPromptsPerPass = 256;
constexpr int64_t kTokensPerPass = 8192;
}  // namespace

torch::Tensor TextTowerImpl::forward(const std::vector<std::vector<int32_t>>& prompts) {
  const int64_t n = static_cast<int64_t>(prompts.size());
  for (const auto& p : prompts) {
    if (p.empty() || static_cast<int64_t>(p.size()) > cfg_.context)
      throw ModelError("a prompt of " + std::to_string(p.size()) + " tokens; the text tower takes 1 to " +
                       std::to_string(cfg_.context));
    for (const int32_t id : p)
      if (id < 0 || id >= cfg_.vocabulary)
        throw ModelError("token id " + std::to_string(id) + " is outside the text tower's vocabulary of " +
                         std::to_string(cfg_.vocabulary) + " (a tokenizer that is not this model's?)");
  }
  auto out = torch::empty({n, cfg_.embed_dim}, torch::kFloat32);
  // Longest first, so that each pass pads its prompts to about the same length.
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return prompts[static_cast<size_t>(a)].size() > prompts[static_cast<size_t>(b)].size();
  });
  for (size_t start = 0; start < order.size();) {
    const int64_t T = static_cast<int64_t>(prompts[static_cast<size_t>(order[start])].size());
    size_t end = start;
    while (end < order.size() && end - start < kPromptsPerPass &&
           static_cast<int64_t>(end - start + 1) * T <= std::max<int64_t>(kTokensPerPass, T))
      ++end;
    const int64_t B = static_cast<int64_t>(end - start);
    auto ids = torch::zeros({B, T}, torch::kLong);
    auto last = torch::empty({B}, torch::kLong);
    auto* id = ids.data_ptr<int64_t>();
    for (int64_t b = 0; b < B; ++b) {
      const auto& p = prompts[static_cast<size_t>(order[start + static_cast<size_t>(b)])];
      std::copy(p.begin(), p.end(), id + b * T);
      last[b] = static_cast<int64_t>(p.size()) - 1;  // the end-of-text token
    }
    auto x = token_embedding.index_select(0, ids.flatten()).view({B, T, cfg_.width}) + pos_embed.slice(0, 0, T);
    const auto mask = torch::full({T, T}, -std::numeric_limits<float>::infinity()).triu(1);
    for (const auto& block : *blocks) x = block->as<TextBlock>()->forward(x, mask);
    // ln_final is per token: only the end-of-text rows are normalised and projected.
    const auto eot = x.index({torch::arange(B), last});  // (B, W)
    const auto feats = proj(norm(eot));
    std::vector<int64_t> rows(order.begin() + static_cast<std::ptrdiff_t>(start),
                              order.begin() + static_cast<std::ptrdiff_t>(end));
    out.index_copy_(0, torch::tensor(rows, torch::kLong), feats);
    start = end;
  }
  return out;
}

namespace {

const torch::Tensor& need(const std::map<std::string, torch::Tensor>& t, const std::string& name, int64_t dims) {
  const auto it = t.find(name);
  if (it == t.end()) throw ModelError("missing tensor '" + name + "' (the CLIP text tower's, canonical name)");
  if (it->second.dim() != dims)
    throw ModelError("tensor '" + name + "' has shape " + c10::str(it->second.sizes()) + ", expected " +
                     std::to_string(dims) + " dimensions");
  return it->second;
}

}  // namespace

TextTower load_text_tower(std::map<std::string, torch::Tensor>& t, int64_t heads, Activation act, double eps) {
  TextTowerConfig c;
  const auto& tok = need(t, "text.token_embedding", 2);
  c.vocabulary = tok.size(0);
  c.width = tok.size(1);
  c.context = need(t, "text.pos_embed", 2).size(0);
  c.depth = 0;
  while (t.count("text.blocks." + std::to_string(c.depth) + ".norm1.weight")) ++c.depth;
  if (c.depth == 0) throw ModelError("missing tensor 'text.blocks.0.norm1.weight': the text tower has no blocks");
  c.mlp_dim = need(t, "text.blocks.0.mlp.fc1.weight", 2).size(0);
  c.embed_dim = need(t, "text.proj.weight", 2).size(0);
  c.proj_bias = t.count("text.proj.bias") > 0;
  c.layer_scale = t.count("text.blocks.0.ls1.gamma") > 0;
  c.act = act;
  c.eps = eps;
  c.heads = heads > 0 ? heads : c.width / 64;
  if (c.heads <= 0 || c.width % c.heads != 0)
    throw ModelError("text tower width " + std::to_string(c.width) + " is not divisible by " + std::to_string(c.heads) +
                     " heads");
  if (c.context < 2 || c.context > 4096 || c.vocabulary < 2 || c.vocabulary > (1 << 22))
    throw ModelError("text tower with " + std::to_string(c.context) + " positions and a vocabulary of " +
                     std::to_string(c.vocabulary) + ": not a CLIP text tower");
  TextTower tower(c);
  torch::NoGradGuard no_grad;
  std::set<std::string> used;
  for (auto& p : tower->named_parameters()) {
    const std::string name = "text." + p.key();
    const auto it = t.find(name);
    if (it == t.end()) throw ModelError("missing tensor '" + name + "' for a CLIP " + c.describe());
    torch::Tensor src = it->second;
    if (p.value().dim() == 0 && src.numel() == 1) src = src.reshape({});
    if (src.sizes() != p.value().sizes())
      throw ModelError("tensor '" + name + "' has shape " + c10::str(src.sizes()) + " but a CLIP " + c.describe() +
                       " needs " + c10::str(p.value().sizes()));
    p.value().copy_(src);
    used.insert(name);
  }
  for (auto it = t.begin(); it != t.end();) {
    if (it->first.rfind("text.", 0) != 0) {
      ++it;
      continue;
    }
    if (!used.count(it->first))
      throw ModelError("unexpected tensor '" + it->first + "' for a CLIP " + c.describe() + " (canonical name)");
    it = t.erase(it);
  }
  if (!std::isfinite(tower->logit_scale.item<float>()) || tower->logit_scale.item<float>() > 20)
    throw ModelError("logit_scale is " + std::to_string(tower->logit_scale.item<float>()) +
                     ": not the log of a similarity scale (open_clip clamps it to log(100))");
  tower->eval();
  return tower;
}

}  // namespace vit
