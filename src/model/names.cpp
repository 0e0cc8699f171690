// The tensor-name table of every family; see include/vit/model/names.h.
#include "vit/model/names.h"

#include <regex>

#include "vit/errors.h"

namespace vit {

namespace {

// One rule: a regex on the file's name and the canonical name it becomes ($1 = block index).
struct Rule {
  std::regex from;
  std::string to;
};

struct FamilyNames {
  Family family;
  const char* name;
  std::string patch_embed;  // the weight that identifies the family
  std::string pos_embed;
  std::vector<Rule> rules;
};

// timm's names are the canonical ones: the rules only say which of them a ViT may hold.
std::vector<Rule> timm_rules() {
  const std::string wb = R"(\.(?:weight|bias))";
  return {
      {std::regex(R"(^(patch_embed\.proj)" + wb + R"(|cls_token|dist_token|reg_token|pos_embed)$)"), "$&"},
      {std::regex(R"(^(?:norm_pre|norm|fc_norm|head|head_dist))" + wb + "$"), "$&"},
      {std::regex(R"(^attn_pool\.(?:latent|(?:q|kv|proj|norm|mlp\.fc1|mlp\.fc2))" + wb + ")$"), "$&"},
      {std::regex(R"(^blocks\.\d+\.(?:norm1|norm2|attn\.qkv|attn\.proj|attn\.q_norm|attn\.k_norm|attn\.norm|)"
                  R"(mlp\.fc1|mlp\.fc2|mlp\.norm|in_norm|in_proj|q_norm|k_norm|attn_out_proj|mlp_out_proj))" +
                  wb + "$"),
       "$&"},
      {std::regex(R"(^blocks\.\d+\.(?:(?:ls1|ls2|ls)\.gamma|mlp_bias)$)"), "$&"},
      {std::regex(R"(^blocks\.\d+\.(?:attn\.)?(?:lambda_(?:q1|k1|q2|k2|a|b)|sub_norm\.weight)$)"),
       "$&"},  // DiffAttention
      {std::regex(R"(^blocks\.\d+\.out_proj)" + wb + "$"), "$&"},
      {std::regex(R"(^blocks\.(\d+)\.gamma_(1|2)$)"), "blocks.$1.ls$2.gamma"},  // Facebook's DeiT-III files
  };
}

std::vector<Rule> torchvision_rules() {
  const std::string layer = R"(^encoder\.layers\.encoder_layer_(\d+)\.)";
  return {
      {std::regex(R"(^conv_proj\.(weight|bias)$)"), "patch_embed.proj.$1"},
      {std::regex(R"(^class_token$)"), "cls_token"},
      {std::regex(R"(^encoder\.pos_embedding$)"), "pos_embed"},
      {std::regex(layer + R"(ln_1\.(weight|bias)$)"), "blocks.$1.norm1.$2"},
      {std::regex(layer + R"(self_attention\.in_proj_(weight|bias)$)"), "blocks.$1.attn.qkv.$2"},
      {std::regex(layer + R"(self_attention\.out_proj\.(weight|bias)$)"), "blocks.$1.attn.proj.$2"},
      {std::regex(layer + R"(ln_2\.(weight|bias)$)"), "blocks.$1.norm2.$2"},
      {std::regex(layer + R"(mlp\.(?:0|linear_1)\.(weight|bias)$)"), "blocks.$1.mlp.fc1.$2"},
      {std::regex(layer + R"(mlp\.(?:3|linear_2)\.(weight|bias)$)"), "blocks.$1.mlp.fc2.$2"},
      {std::regex(R"(^encoder\.ln\.(weight|bias)$)"), "norm.$1"},
      {std::regex(R"(^heads\.head\.(weight|bias)$)"), "head.$1"},
  };
}

// Hugging Face ViT (vit.), DeiT (deit.) and Dinov2 (dinov2.) models; q/k/v become
// "#q"/"#k"/"#v" parts of qkv; "-" drops a tensor inference never reads.
std::vector<Rule> huggingface_rules() {
  const std::string hf = R"(^(?:vit\.|deit\.|dinov2\.)?)";
  const std::string layer = hf + R"(encoder\.layer\.(\d+)\.)";
  return {
      {std::regex(hf + R"(embeddings\.patch_embeddings\.projection\.(weight|bias)$)"), "patch_embed.proj.$1"},
      {std::regex(hf + R"(embeddings\.cls_token$)"), "cls_token"},
      {std::regex(hf + R"(embeddings\.distillation_token$)"), "dist_token"},
      {std::regex(hf + R"(embeddings\.position_embeddings$)"), "pos_embed"},
      {std::regex(hf + R"(embeddings\.mask_token$)"), "-"},  // Dinov2's masked-image pre-training token
      {std::regex(layer + R"(norm(1|2)\.(weight|bias)$)"), "blocks.$1.norm$2.$3"},                 // Dinov2
      {std::regex(layer + R"(layer_scale(1|2)\.lambda1$)"), "blocks.$1.ls$2.gamma"},               // Dinov2
      {std::regex(layer + R"(mlp\.(?:fc1|weights_in)\.(weight|bias)$)"), "blocks.$1.mlp.fc1.$2"},  // Dinov2 (SwiGLU)
      {std::regex(layer + R"(mlp\.(?:fc2|weights_out)\.(weight|bias)$)"), "blocks.$1.mlp.fc2.$2"},
      {std::regex(layer + R"(layernorm_before\.(weight|bias)$)"), "blocks.$1.norm1.$2"},
      {std::regex(layer + R"(attention\.attention\.query\.(weight|bias)$)"), "blocks.$1.attn.qkv.$2#q"},
      {std::regex(layer + R"(attention\.attention\.key\.(weight|bias)$)"), "blocks.$1.attn.qkv.$2#k"},
      {std::regex(layer + R"(attention\.attention\.value\.(weight|bias)$)"), "blocks.$1.attn.qkv.$2#v"},
      {std::regex(layer + R"(attention\.output\.dense\.(weight|bias)$)"), "blocks.$1.attn.proj.$2"},
      {std::regex(layer + R"(layernorm_after\.(weight|bias)$)"), "blocks.$1.norm2.$2"},
      {std::regex(layer + R"(intermediate\.dense\.(weight|bias)$)"), "blocks.$1.mlp.fc1.$2"},
      {std::regex(layer + R"(output\.dense\.(weight|bias)$)"), "blocks.$1.mlp.fc2.$2"},
      {std::regex(hf + R"(layernorm\.(weight|bias)$)"), "norm.$1"},
      {std::regex(R"(^(?:classifier|cls_classifier)\.(weight|bias)$)"), "head.$1"},
      {std::regex(R"(^distillation_classifier\.(weight|bias)$)"), "head_dist.$1"},
  };
}

const std::vector<FamilyNames>& families() {
  static const std::vector<FamilyNames> table{
      {Family::Timm, "timm", "patch_embed.proj.weight", "pos_embed", timm_rules()},
      {Family::Torchvision, "torchvision", "conv_proj.weight", "encoder.pos_embedding", torchvision_rules()},
      {Family::HuggingFace, "hf", "embeddings.patch_embeddings.projection.weight", "embeddings.position_embeddings",
       huggingface_rules()},
  };
  return table;
}

const FamilyNames& names_of(Family f) {
  for (const auto& n : families())
    if (n.family == f) return n;
  throw Error("internal: unknown model family");
}

bool ends_with(const std::string& s, const std::string& end) {
  return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}

// What an unknown tensor shows about the model, for the error message.
std::string hint_for_unknown(const std::string& name) {
  const auto has = [&](const char* part) { return name.find(part) != std::string::npos; };
  if (has("attn.gate")) return " (gated attention: not supported)";
  if (has("rope")) return " (rotary position embeddings: an EVA-style model, not supported)";
  if (has("patch_embed.norm")) return " (a normalised patch embedding: not supported)";
  if (has("register_tokens")) return " (Dinov2 with registers: not supported; timm's *_reg* models are)";
  if (has("pre_logits")) return " (a pre-logits layer: not supported)";
  if (name.find("pooler") != std::string::npos)
    return " (a Hugging Face ViTModel pooler: use a ViTForImageClassification checkpoint)";
  return "";
}

// The canonical name for one of the family's names; "" when no rule matches.
std::string map_name(const std::string& name, const std::vector<Rule>& rules) {
  for (const auto& r : rules) {
    std::smatch m;
    if (std::regex_match(name, m, r.from)) return m.format(r.to);
  }
  return "";
}

// HF's query/key/value rows stacked into timm's fused qkv, (3D, D) and (3D).
void fuse_qkv(std::map<std::string, std::map<char, torch::Tensor>>& parts, std::map<std::string, torch::Tensor>& out) {
  for (auto& kv : parts) {
    for (char part : {'q', 'k', 'v'}) {
      if (kv.second.count(part)) continue;
      const std::string which = part == 'q' ? "query" : part == 'k' ? "key" : "value";
      throw ModelError("missing tensor: the " + which + " part of '" + kv.first + "' (Hugging Face attention." + which +
                       ")");
    }
    out[kv.first] = torch::cat({kv.second['q'], kv.second['k'], kv.second['v']}, 0);
  }
}

}  // namespace

const char* family_name(Family f) { return names_of(f).name; }
bool is_patch_embed(Family f, const std::string& tensor_name) {
  return ends_with(tensor_name, names_of(f).patch_embed);
}
bool is_pos_embed(Family f, const std::string& tensor_name) { return ends_with(tensor_name, names_of(f).pos_embed); }

std::string quoted_names(const std::vector<std::string>& names, size_t most) {
  std::string list;
  for (size_t i = 0; i < names.size() && i < most; ++i) list += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > most) list += " and " + std::to_string(names.size() - most) + " more";
  return list;
}

Family detect_family(const std::vector<std::string>& names) {
  for (const auto& fam : families())
    for (const auto& n : names)
      if (ends_with(n, fam.patch_embed)) return fam.family;
  std::vector<std::string> first(names.begin(),
                                 names.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(3, names.size())));
  throw ModelError("no ViT patch embedding found among " + std::to_string(names.size()) +
                   " tensors (expected timm 'patch_embed.proj.weight', torchvision 'conv_proj.weight' or Hugging Face "
                   "'vit.embeddings.patch_embeddings.projection.weight'); first names: " +
                   quoted_names(first, 3) + ". Is this a Vision Transformer checkpoint?");
}

std::map<std::string, torch::Tensor> canonical_tensors(const std::map<std::string, torch::Tensor>& raw, Family family) {
  const auto& rules = names_of(family).rules;
  std::map<std::string, torch::Tensor> out;
  std::map<std::string, std::map<char, torch::Tensor>> qkv_parts;  // HF: "blocks.i.attn.qkv.weight" -> q, k, v
  std::vector<std::string> unknown;
  for (const auto& kv : raw) {
    std::string name = kv.first;
    if (name.rfind("module.", 0) == 0) name = name.substr(7);  // DistributedDataParallel prefix
    const std::string mapped = map_name(name, rules);
    if (mapped == "-") continue;
    if (mapped.empty()) {
      unknown.push_back(kv.first);
      continue;
    }
    const auto hash = mapped.find('#');
    if (hash != std::string::npos) {
      qkv_parts[mapped.substr(0, hash)][mapped[hash + 1]] = kv.second;
      continue;
    }
    if (out.count(mapped)) throw ModelError("two tensors map to '" + mapped + "' (second: '" + kv.first + "')");
    out[mapped] = kv.second;
  }
  if (!unknown.empty())
    throw ModelError(std::string("unexpected tensor") + (unknown.size() > 1 ? "s " : " ") + quoted_names(unknown, 5) +
                     " in a " + family_name(family) + "-style ViT checkpoint" + hint_for_unknown(unknown[0]));
  fuse_qkv(qkv_parts, out);
  return out;
}

}  // namespace vit
