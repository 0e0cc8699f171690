// Canonical tensors -> VisionTransformer; see include/vit/model/weights.h.
#include "vit/model/weights.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <set>

#include "vit/errors.h"
#include "vit/io/text.h"
#include "vit/model/beit_layers.h"
#include "vit/model/checkpoint.h"
#include "vit/model/clip_model.h"
#include "vit/model/layers.h"
#include "vit/model/names.h"

namespace vit {

namespace {

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
// The linear layers but the classifier head(s) (those stay float32 under --precision: 0.1% of
// the work, and their logits are what the user reads), by the names of their parameters, each
// with how many of its parameters are still to be loaded.
struct PendingLinears {
  std::map<std::string, std::pair<LinearImpl*, int*>> by_param;
  std::vector<std::unique_ptr<int>> counts;
};

PendingLinears pending_linears(VisionTransformer& model) {
  PendingLinears out;
  for (const auto& m : model->named_modules("", /*include_self=*/false)) {
    auto* lin = dynamic_cast<LinearImpl*>(m.value().get());
    if (!lin || m.key() == "head" || m.key() == "head_dist") continue;
    out.counts.push_back(std::make_unique<int>(lin->bias.defined() ? 2 : 1));
    out.by_param[m.key() + ".weight"] = {lin, out.counts.back().get()};
    if (lin->bias.defined()) out.by_param[m.key() + ".bias"] = {lin, out.counts.back().get()};
  }
  return out;
}

// The loader's per-tensor work runs on this thread, without LibTorch's parallel kernels: each of
// those is an OpenMP region, and with ~150 tensors x 3 regions (copy_, isfinite, sum) their
// barriers were most of a one-photo cold start on a busy 2-core Zen 3 (perf: both threads spinning
// in libgomp for seconds before the first forward). A copy and a compare stream at memory speed.
void copy_into(torch::Tensor& dst, const torch::Tensor& src) {
  if (src.scalar_type() == dst.scalar_type() && src.is_contiguous() && dst.is_contiguous())
    std::memcpy(dst.data_ptr(), src.data_ptr(), dst.nbytes());  // same bytes as copy_
  else
    dst.copy_(src);  // a dtype conversion (fp16/bf16 checkpoints) or a strided view
}

int64_t count_non_finite(const torch::Tensor& t) {
  if (t.scalar_type() != torch::kFloat || !t.is_contiguous())
    return t.numel() - torch::isfinite(t).sum().item<int64_t>();
  const float* v = t.data_ptr<float>();
  const float max = std::numeric_limits<float>::max();
  int64_t bad = 0;
  for (int64_t i = 0, n = t.numel(); i < n; ++i) bad += !(std::fabs(v[i]) <= max);  // NaN compares false
  return bad;
}

void copy_weights(VisionTransformer& model, const std::map<std::string, torch::Tensor>& tensors,
                  const RawCheckpoint& raw, const std::function<void(LinearImpl&)>& on_linear_loaded) {
  torch::NoGradGuard no_grad;
  const ViTConfig& cfg = model->config();
  std::set<std::string> used;
  std::vector<std::string> missing;
  PendingLinears pending = on_linear_loaded ? pending_linears(model) : PendingLinears{};
  auto targets = model->named_parameters();
  // Batch-norm statistics (XCiT) are read like parameters; other buffers (rotary tables, relative
  // position indices, the batch-norm counter) are computed, never read from the file.
  for (const auto& b : model->named_buffers())
    if (ends_with(b.key(), ".running_mean") || ends_with(b.key(), ".running_var")) targets.insert(b.key(), b.value());
  for (auto& p : targets) {
    auto it = tensors.find(p.key());
    if (it == tensors.end()) {
      missing.push_back(p.key());
      continue;
    }
    torch::Tensor src = it->second;
    // torchvision and timm store pos/cls tokens with a leading 1; accept (T, D) too.
    if (src.dim() + 1 == p.value().dim() && p.value().size(0) == 1) src = src.unsqueeze(0);
    if (p.key() == "pos_embed" && cfg.pos_grid != cfg.grid())
      src = resample_pos_embed(src, cfg.no_embed_class ? 0 : cfg.num_prefix_tokens(), cfg.grid(), cfg.pos_resample);
    if (cfg.rel_pos == RelPos::Table && cfg.rel_pos_grid != cfg.grid() &&
        ends_with(p.key(), "relative_position_bias_table"))
      src = resize_rel_pos_table(src, cfg.grid());  // as timm's BEiT checkpoint_filter_fn
    if (src.sizes() != p.value().sizes())
      throw ModelError("tensor '" + p.key() + "' has shape " + c10::str(it->second.sizes()) + " but a " +
                       cfg.describe() + " needs " + c10::str(p.value().sizes()));
    copy_into(p.value(), src);
    if (raw.release) raw.release(it->second);
    used.insert(p.key());
    const int64_t bad = count_non_finite(p.value());
    if (bad > 0)
      spdlog::warn(
          "tensor '{}' holds {} non-finite value{} (NaN or infinity): images it makes non-finite scores for "
          "get failed records",
          p.key(), bad, bad > 1 ? "s" : "");
    const auto lin = pending.by_param.find(p.key());
    if (lin != pending.by_param.end() && --*lin->second.second == 0) on_linear_loaded(*lin->second.first);
  }
  if (!missing.empty())
    throw ModelError("missing tensor" + std::string(missing.size() > 1 ? "s " : " ") + quoted_names(missing, 5) +
                     " (canonical timm names)");
  for (const auto& kv : tensors)
    if (!used.count(kv.first)) throw ModelError("unexpected tensor '" + kv.first + "' for a " + cfg.describe());
}

// Hugging Face's Dinov2WithRegisters adds the class token's position embedding, then inserts the
// registers (which have none) after it. As timm's _convert_dinov2 does: the class row is folded
// into cls_token, pos_embed keeps the patches' rows (no_embed_class), and the registers need none.
void fold_hf_registers(std::map<std::string, torch::Tensor>& t) {
  const auto pos = t.find("pos_embed"), cls = t.find("cls_token");
  if (!t.count("reg_token") || pos == t.end() || cls == t.end()) return;  // a missing tensor is reported later
  const auto& p = pos->second;
  if (p.dim() != 3 || p.size(1) < 2 || cls->second.sizes() != c10::IntArrayRef{1, 1, p.size(2)})
    throw ModelError("Dinov2WithRegisters: 'embeddings.cls_token' " + c10::str(cls->second.sizes()) +
                     " and 'embeddings.position_embeddings' " + c10::str(p.sizes()) +
                     " are not (1, 1, D) and (1, 1 + N, D)");
  cls->second = cls->second + p.narrow(1, 0, 1);
  pos->second = p.narrow(1, 1, p.size(1) - 1);
}

}  // namespace

LoadedViT load_vit(const std::string& path, const ModelHints& hints, const LoadOptions& options) {
  return load_vit(read_checkpoint(path), path, hints, options);
}

LoadedViT load_vit(RawCheckpoint raw, const std::string& path, const ModelHints& hints_in, const LoadOptions& options) {
  const int64_t heads_override = options.heads;
  std::vector<std::string> names;
  for (const auto& kv : raw.tensors) names.push_back(kv.first);
  for (const auto& kv : raw.unsupported) names.push_back(kv.first);
  LoadedViT out;
  out.format = raw.format;
  out.wrapper_key = raw.wrapper_key;
  try {
    out.family = detect_family(names);
    for (auto it = raw.unsupported.begin(); it != raw.unsupported.end();)  // integer buffers inference never reads
      it = is_dropped_tensor(out.family, it->first) ? raw.unsupported.erase(it) : std::next(it);
    if (!raw.unsupported.empty())
      throw ModelError("tensor '" + raw.unsupported.begin()->first + "' has dtype " + raw.unsupported.begin()->second +
                       "; weights must be F32, F16, BF16 or F64 (quantised checkpoints are not supported)");
    auto tensors = canonical_tensors(raw.tensors, out.family);
    if (out.family == Family::HuggingFace) fold_hf_registers(tensors);
    ModelHints hints = hints_in;
    std::map<std::string, torch::Tensor> text;
    if (family_facts(out.family).two_towers) prepare_clip(tensors, text, hints);
    if (heads_override > 0 && hints.heads > 0 && heads_override != hints.heads)
      throw ModelError("--heads " + std::to_string(heads_override) + " contradicts the " + std::to_string(hints.heads) +
                       " heads that " + (hints.sources.empty() ? "the config" : hints.sources.front()) +
                       " gives; --heads is only for weights without a config.json");
    if (heads_override > 0) hints.heads = heads_override;
    const ViTConfig cfg = infer_config(tensors, hints, out.family, options.image_size);
    check_shapes(tensors, cfg);
    // Layer scale named gamma_1/gamma_2 on a plain ViT is Facebook's DeiT-III layout, and
    // tensor for tensor also timm eva.py's axial ROPE-ViT `_rope_ape` models, whose rotary
    // positions no tensor shows: without an architecture to say which, say what was assumed.
    if (out.family == Family::Timm && hints.architecture.empty() && raw.tensors.count("blocks.0.gamma_1") && !cfg.eva &&
        cfg.rel_pos == RelPos::None && !cfg.depth_token_only)
      spdlog::warn(
          "'{}': layer scale named 'blocks.0.gamma_1' and no config.json: read as Facebook's DeiT-III (no rotary "
          "positions); timm's vit_*_rope_ape_* models have the same tensors: for one of those, put timm's "
          "config.json beside the weights",
          path);
    {
      std::optional<SkipLinearInit> no_init;
      if (options.on_linear_loaded) no_init.emplace();
      out.model = VisionTransformer(cfg);
    }
    copy_weights(out.model, tensors, raw, options.on_linear_loaded);
    out.model->set_per_image(options.per_image);
    out.model->eval();
    if (family_facts(out.family).two_towers) out.text = build_clip_text_tower(text, hints);
  } catch (const ModelError& e) {
    throw ModelError("'" + path + "': " + e.what());
  } catch (const c10::Error& e) {
    throw ModelError("'" + path + "': " + e.what_without_backtrace());
  }
  return out;
}

}  // namespace vit
