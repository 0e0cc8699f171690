// Canonical tensors -> VisionTransformer; see include/vit/model/weights.h.
#include "vit/model/weights.h"

#include <spdlog/spdlog.h>

#include <set>

#include "vit/errors.h"
#include "vit/model/checkpoint.h"
#include "vit/model/names.h"

namespace vit {

ViTConfig infer_config(const std::map<std::string, torch::Tensor>& t, const ModelHints& hints) {
  auto need = [&](const std::string& name) -> const torch::Tensor& {
    auto it = t.find(name);
    if (it == t.end()) throw ModelError("missing tensor '" + name + "' (canonical timm name)");
    return it->second;
  };
  ViTConfig c;
  const auto& pw = need("patch_embed.proj.weight");
  if (pw.dim() != 4 || pw.size(2) != pw.size(3))
    throw ModelError("tensor 'patch_embed.proj.weight' has shape " + c10::str(pw.sizes()) + ", expected (D, C, P, P)");
  c.dim = pw.size(0);
  c.in_chans = pw.size(1);
  c.patch_size = pw.size(2);
  if (c.in_chans != 3)
    throw ModelError("tensor 'patch_embed.proj.weight' has shape " + c10::str(pw.sizes()) + ": " +
                     std::to_string(c.in_chans) + " input channels, but images are fed as RGB (3)");
  if (c.dim <= 0 || c.patch_size <= 0)
    throw ModelError("tensor 'patch_embed.proj.weight' has shape " + c10::str(pw.sizes()) + ": no width or patch");
  c.distilled = t.count("dist_token") > 0;
  int64_t depth = 0;
  while (t.count("blocks." + std::to_string(depth) + ".norm1.weight")) ++depth;
  if (depth == 0) throw ModelError("missing tensor 'blocks.0.norm1.weight': the checkpoint has no encoder blocks");
  c.depth = depth;
  const auto& fc1 = need("blocks.0.mlp.fc1.weight");
  if (fc1.dim() != 2) throw ModelError("tensor 'blocks.0.mlp.fc1.weight' is not a matrix");
  c.mlp_dim = fc1.size(0);
  auto head = t.find("head.weight");
  if (head == t.end())
    throw ModelError("missing tensor 'head.weight': the checkpoint has no classification head (a feature extractor?)");
  if (head->second.dim() != 2) throw ModelError("tensor 'head.weight' is not a matrix");
  c.num_classes = head->second.size(0);
  const auto& pos = need("pos_embed");
  if (pos.dim() != 3 && pos.dim() != 2) throw ModelError("tensor 'pos_embed' has shape " + c10::str(pos.sizes()));
  const int64_t tokens = pos.size(pos.dim() - 2);
  const int64_t g = grid_side(tokens, c.num_prefix_tokens());
  if (g == 0)
    throw ModelError("tensor 'pos_embed' has " + std::to_string(tokens) + " positions: not " +
                     std::to_string(c.num_prefix_tokens()) + " prefix token(s) plus a square grid of patches");
  c.image_size = g * c.patch_size;
  c.heads = hints.heads > 0 ? hints.heads : default_heads_for_dim(c.dim);
  if (c.heads <= 0)
    throw ModelError("cannot tell the number of attention heads for width " + std::to_string(c.dim) +
                     ": pass --heads N or put the model's config.json beside the weights");
  if (c.dim % c.heads != 0)
    throw ModelError("width " + std::to_string(c.dim) + " is not divisible by " + std::to_string(c.heads) + " heads");
  if (hints.eps) c.eps = *hints.eps;
  return c;
}

namespace {

// Every parameter's shape for a configuration, under its canonical name: what the module will
// allocate, known before it does.
std::map<std::string, std::vector<int64_t>> expected_shapes(const ViTConfig& c) {
  const int64_t D = c.dim, H = c.mlp_dim, K = c.num_classes;
  std::map<std::string, std::vector<int64_t>> s{
      {"patch_embed.proj.weight", {D, c.in_chans, c.patch_size, c.patch_size}},
      {"patch_embed.proj.bias", {D}},
      {"cls_token", {1, 1, D}},
      {"pos_embed", {1, c.num_prefix_tokens() + c.num_patches(), D}},
      {"norm.weight", {D}},
      {"norm.bias", {D}},
      {"head.weight", {K, D}},
      {"head.bias", {K}},
  };
  if (c.distilled) {
    s["dist_token"] = {1, 1, D};
    s["head_dist.weight"] = {K, D};
    s["head_dist.bias"] = {K};
  }
  for (int64_t i = 0; i < c.depth; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    for (const char* n : {"norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias", "attn.proj.bias", "mlp.fc2.bias"})
      s[b + n] = {D};
    s[b + "attn.qkv.weight"] = {3 * D, D};
    s[b + "attn.qkv.bias"] = {3 * D};
    s[b + "attn.proj.weight"] = {D, D};
    s[b + "mlp.fc1.weight"] = {H, D};
    s[b + "mlp.fc1.bias"] = {H};
    s[b + "mlp.fc2.weight"] = {D, H};
  }
  return s;
}

// Before anything is allocated: each tensor has the shape the configuration needs (a leading
// 1 may be left out), so the module is never larger than the tensors in the file.
void check_shapes(const std::map<std::string, torch::Tensor>& tensors, const ViTConfig& cfg) {
  for (const auto& [name, want] : expected_shapes(cfg)) {
    const auto it = tensors.find(name);
    if (it == tensors.end()) continue;  // reported as missing with the others below
    std::vector<int64_t> got(it->second.sizes().begin(), it->second.sizes().end());
    if (got.size() + 1 == want.size() && want[0] == 1) got.insert(got.begin(), 1);
    if (got != want)
      throw ModelError("tensor '" + name + "' has shape " + c10::str(it->second.sizes()) + " but a " + cfg.describe() +
                       " needs " + c10::str(c10::IntArrayRef(want)));
  }
}

// Copies every canonical tensor into the module's parameter of the same name, releasing each
// source once copied. Throws ModelError for a missing, extra or misshapen tensor.
void copy_weights(VisionTransformer& model, const std::map<std::string, torch::Tensor>& tensors,
                  const RawCheckpoint& raw) {
  torch::NoGradGuard no_grad;
  const ViTConfig& cfg = model->config();
  std::set<std::string> used;
  std::vector<std::string> missing;
  for (auto& p : model->named_parameters()) {
    auto it = tensors.find(p.key());
    if (it == tensors.end()) {
      missing.push_back(p.key());
      continue;
    }
    torch::Tensor src = it->second;
    // torchvision and timm store pos/cls tokens with a leading 1; accept (T, D) too.
    if (src.dim() + 1 == p.value().dim() && p.value().size(0) == 1) src = src.unsqueeze(0);
    if (src.sizes() != p.value().sizes())
      throw ModelError("tensor '" + p.key() + "' has shape " + c10::str(it->second.sizes()) + " but a " +
                       cfg.describe() + " needs " + c10::str(p.value().sizes()));
    p.value().copy_(src);
    if (raw.release) raw.release(it->second);
    used.insert(p.key());
    const int64_t bad = p.value().numel() - torch::isfinite(p.value()).sum().item<int64_t>();
    if (bad > 0)
      spdlog::warn(
          "tensor '{}' holds {} non-finite value{} (NaN or infinity): images it makes non-finite scores for "
          "get failed records",
          p.key(), bad, bad > 1 ? "s" : "");
  }
  if (!missing.empty())
    throw ModelError("missing tensor" + std::string(missing.size() > 1 ? "s " : " ") + quoted_names(missing, 5) +
                     " (canonical timm names)");
  for (const auto& kv : tensors)
    if (!used.count(kv.first)) throw ModelError("unexpected tensor '" + kv.first + "' for a " + cfg.describe());
}

}  // namespace

LoadedViT load_vit(const std::string& path, const ModelHints& hints_in, int64_t heads_override) {
  RawCheckpoint raw = read_checkpoint(path);
  std::vector<std::string> names;
  for (const auto& kv : raw.tensors) names.push_back(kv.first);
  for (const auto& kv : raw.unsupported) names.push_back(kv.first);
  LoadedViT out;
  out.format = raw.format;
  out.wrapper_key = raw.wrapper_key;
  try {
    out.family = detect_family(names);
    if (!raw.unsupported.empty())
      throw ModelError("tensor '" + raw.unsupported.begin()->first + "' has dtype " + raw.unsupported.begin()->second +
                       "; weights must be F32, F16, BF16 or F64 (quantised checkpoints are not supported)");
    const auto tensors = canonical_tensors(raw.tensors, out.family);
    ModelHints hints = hints_in;
    if (heads_override > 0 && hints.heads > 0 && heads_override != hints.heads)
      throw ModelError("--heads " + std::to_string(heads_override) + " contradicts the " + std::to_string(hints.heads) +
                       " heads that " + (hints.sources.empty() ? "the config" : hints.sources.front()) +
                       " gives; --heads is only for weights without a config.json");
    if (heads_override > 0) hints.heads = heads_override;
    const ViTConfig cfg = infer_config(tensors, hints);
    check_shapes(tensors, cfg);
    out.model = VisionTransformer(cfg);
    copy_weights(out.model, tensors, raw);
    out.model->eval();
  } catch (const ModelError& e) {
    throw ModelError("'" + path + "': " + e.what());
  } catch (const c10::Error& e) {
    throw ModelError("'" + path + "': " + e.what_without_backtrace());
  }
  return out;
}

}  // namespace vit
