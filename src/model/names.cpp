// The table of model families: each family's row; see include/vit/model/names.h.
#include "vit/model/names.h"

#include <cctype>
#include <optional>

#include "vit/errors.h"
#include "vit/io/text.h"
#include "vit/model/beit_layers.h"
#include "vit/model/xcit_layers.h"

namespace vit {

namespace {

// One rule: a pattern for the file's name and the canonical name it becomes. Names come from
// untrusted files, so they are matched by hand, never by a regex (std::regex recurses per
// character: a 100000-digit block index overflowed the stack). A pattern is literal text and
//   #        a block index: 1 to kMaxIndexDigits decimal digits (captured),
//   (a|b)    one of the alternatives (captured),
//   {a|b|}   one of the alternatives, the empty one included (not captured);
// `to` is "$&" (the name itself) or text with $1..$9 for the captures, in order.
using Rule = NameRule;

constexpr size_t kMaxIndexDigits = 5;  // blocks 0 to 99999
constexpr size_t kMaxNameBytes = 512;  // a longer name matches no rule: it is reported as unknown

// timm's names are the canonical ones: the rules only say which of them a ViT may hold.
std::vector<Rule> timm_rules() {
  std::vector<Rule> rules{
      {"patch_embed.proj.{weight|bias}", "$&"},
      {"patch_embed.backbone.{stem.|}{conv|norm}.{weight|bias}", "$&"},  // hybrid ViTs' ResNet stem
      {"patch_embed.backbone.stages.#.blocks.#.{downsample.conv|downsample.norm|conv1|norm1|conv2|norm2|conv3|norm3}."
       "{weight|bias}",
       "$&"},
      {"{cls_token|dist_token|reg_token|pos_embed}", "$&"},
      {"{norm_pre|norm|fc_norm|head|head_dist}.{weight|bias}", "$&"},
      {"attn_pool.latent", "$&"},
      {"attn_pool.{q|kv|proj|norm|mlp.fc1|mlp.fc2}.{weight|bias}", "$&"},
      {"blocks.#.{norm1|norm2|attn.qkv|attn.proj|attn.q_norm|attn.k_norm|attn.norm|mlp.fc1|mlp.fc2|mlp.norm|in_norm|"
       "in_proj|q_norm|k_norm|attn_out_proj|mlp_out_proj|attn.proj_l|attn.proj_w}.{weight|bias}",
       "$&"},
      {"blocks.#.{ls1.gamma|ls2.gamma|ls.gamma|mlp_bias}", "$&"},
      {"blocks.#.{attn.|}{lambda_q1|lambda_k1|lambda_q2|lambda_k2|lambda_a|lambda_b|sub_norm.weight}",
       "$&"},  // DiffAttention
      {"blocks.#.out_proj.{weight|bias}", "$&"},
      {"(blocks|blocks_token_only).#.gamma_(1|2)", "$1.$2.ls$3.gamma"},  // Facebook's DeiT-III files; CaiT; BEiT
      {"blocks_token_only.#.{norm1|norm2|attn.q|attn.k|attn.v|attn.proj|mlp.fc1|mlp.fc2}.{weight|bias}", "$&"},
      {"blocks.#.attn.{q_bias|v_bias}", "$&"},  // eva.py: q and v biases beside a bias-free qkv
      {"blocks.#.attn.{q_proj|k_proj|v_proj}.{weight|bias}", "$&"},
      {"blocks.#.mlp.{fc1_g|fc1_x}.{weight|bias}", "$&"},  // eva.py SwiGLU
      {"rope.freqs", "$&"},                                // eva.py RotaryEmbeddingMixed
  };
  for (const auto& r : xcit_name_rules()) rules.push_back(r);
  return rules;
}

std::vector<Rule> torchvision_rules() {
  return {
      {"conv_proj.(weight|bias)", "patch_embed.proj.$1"},
      {"class_token", "cls_token"},
      {"encoder.pos_embedding", "pos_embed"},
      {"encoder.layers.encoder_layer_#.ln_1.(weight|bias)", "blocks.$1.norm1.$2"},
      {"encoder.layers.encoder_layer_#.self_attention.in_proj_(weight|bias)", "blocks.$1.attn.qkv.$2"},
      {"encoder.layers.encoder_layer_#.self_attention.out_proj.(weight|bias)", "blocks.$1.attn.proj.$2"},
      {"encoder.layers.encoder_layer_#.ln_2.(weight|bias)", "blocks.$1.norm2.$2"},
      {"encoder.layers.encoder_layer_#.mlp.{0|linear_1}.(weight|bias)", "blocks.$1.mlp.fc1.$2"},
      {"encoder.layers.encoder_layer_#.mlp.{3|linear_2}.(weight|bias)", "blocks.$1.mlp.fc2.$2"},
      {"encoder.ln.(weight|bias)", "norm.$1"},
      {"heads.head.(weight|bias)", "head.$1"},
  };
}

// Hugging Face ViT (vit.), DeiT (deit.), Dinov2 (dinov2.), Dinov2WithRegisters and BEiT (beit.)
// models; q/k/v become "#q"/"#k"/"#v" parts of qkv; "-" drops a tensor inference never reads.
#define VIT_HF "{vit.|deit.|dinov2.|dinov2_with_registers.|beit.|}"
#define VIT_HF_LAYER VIT_HF "encoder.layer.#."
std::vector<Rule> huggingface_rules() {
  return {
      {VIT_HF "embeddings.patch_embeddings.projection.(weight|bias)", "patch_embed.proj.$1"},
      {VIT_HF "embeddings.cls_token", "cls_token"},
      {VIT_HF "embeddings.distillation_token", "dist_token"},
      {VIT_HF "embeddings.position_embeddings", "pos_embed"},
      {VIT_HF "embeddings.mask_token", "-"},                                        // Dinov2's pre-training token
      {VIT_HF "embeddings.register_tokens", "reg_token"},                           // Dinov2WithRegisters
      {VIT_HF_LAYER "norm(1|2).(weight|bias)", "blocks.$1.norm$2.$3"},              // Dinov2
      {VIT_HF_LAYER "layer_scale(1|2).lambda1", "blocks.$1.ls$2.gamma"},            // Dinov2
      {VIT_HF_LAYER "mlp.{fc1|weights_in}.(weight|bias)", "blocks.$1.mlp.fc1.$2"},  // Dinov2 (SwiGLU)
      {VIT_HF_LAYER "mlp.{fc2|weights_out}.(weight|bias)", "blocks.$1.mlp.fc2.$2"},
      {VIT_HF_LAYER "layernorm_before.(weight|bias)", "blocks.$1.norm1.$2"},
      {VIT_HF_LAYER "attention.attention.query.(weight|bias)", "blocks.$1.attn.qkv.$2#q"},
      {VIT_HF_LAYER "attention.attention.key.(weight|bias)", "blocks.$1.attn.qkv.$2#k"},
      {VIT_HF_LAYER "attention.attention.value.(weight|bias)", "blocks.$1.attn.qkv.$2#v"},
      {VIT_HF_LAYER "attention.output.dense.(weight|bias)", "blocks.$1.attn.proj.$2"},
      {VIT_HF_LAYER "layernorm_after.(weight|bias)", "blocks.$1.norm2.$2"},
      {VIT_HF_LAYER "intermediate.dense.(weight|bias)", "blocks.$1.mlp.fc1.$2"},
      {VIT_HF_LAYER "output.dense.(weight|bias)", "blocks.$1.mlp.fc2.$2"},
      {VIT_HF "layernorm.(weight|bias)", "norm.$1"},
      {"{classifier|cls_classifier}.(weight|bias)", "head.$1"},
      {"distillation_classifier.(weight|bias)", "head_dist.$1"},
  };
}
#undef VIT_HF_LAYER
#undef VIT_HF

// open_clip's CLIP (OpenAI's original state dicts use the same names): the image tower under
// "visual.", the text tower at the top level (open_clip's CLIP class), mapped to "text.*".
#define VIT_CLIP_BLOCK "transformer.resblocks.#."
std::vector<Rule> open_clip_rules() {
  return {
      {"visual.conv1.weight", "patch_embed.proj.weight"},
      {"visual.class_embedding", "cls_token"},
      {"visual.positional_embedding", "pos_embed"},
      {"visual.ln_pre.(weight|bias)", "norm_pre.$1"},
      {"visual." VIT_CLIP_BLOCK "ln_(1|2).(weight|bias)", "blocks.$1.norm$2.$3"},
      {"visual." VIT_CLIP_BLOCK "attn.in_proj_(weight|bias)", "blocks.$1.attn.qkv.$2"},
      {"visual." VIT_CLIP_BLOCK "attn.out_proj.(weight|bias)", "blocks.$1.attn.proj.$2"},
      {"visual." VIT_CLIP_BLOCK "mlp.c_fc.(weight|bias)", "blocks.$1.mlp.fc1.$2"},
      {"visual." VIT_CLIP_BLOCK "mlp.c_proj.(weight|bias)", "blocks.$1.mlp.fc2.$2"},
      {"visual." VIT_CLIP_BLOCK "ls_(1|2).gamma", "blocks.$1.ls$2.gamma"},
      {"visual.ln_post.(weight|bias)", "norm.$1"},
      {"visual.proj", "head.weight^T"},  // (D, E): the image embedding's projection
      {"token_embedding.weight", "text.token_embedding"},
      {"positional_embedding", "text.pos_embed"},
      {VIT_CLIP_BLOCK "ln_(1|2).(weight|bias)", "text.blocks.$1.norm$2.$3"},
      {VIT_CLIP_BLOCK "attn.in_proj_(weight|bias)", "text.blocks.$1.attn.qkv.$2"},
      {VIT_CLIP_BLOCK "attn.out_proj.(weight|bias)", "text.blocks.$1.attn.proj.$2"},
      {VIT_CLIP_BLOCK "mlp.c_fc.(weight|bias)", "text.blocks.$1.mlp.fc1.$2"},
      {VIT_CLIP_BLOCK "mlp.c_proj.(weight|bias)", "text.blocks.$1.mlp.fc2.$2"},
      {VIT_CLIP_BLOCK "ls_(1|2).gamma", "text.blocks.$1.ls$2.gamma"},
      {"ln_final.(weight|bias)", "text.norm.$1"},
      {"text_projection", "text.proj.weight^T"},          // (W, E)
      {"text_projection.(weight|bias)", "text.proj.$1"},  // proj_bias: an nn.Linear
      {"logit_scale", "text.logit_scale"},
      {"{input_resolution|context_length|vocab_size|attn_mask}", "-"},  // OpenAI's files: sizes, the mask
  };
}
#undef VIT_CLIP_BLOCK

// Hugging Face's CLIPModel: vision_model.* and text_model.*, q/k/v apart (fused as for ViT),
// the projections already (out, in).
#define VIT_HFC_LAYER "encoder.layers.#."
std::vector<Rule> hf_clip_rules() {
  return {
      {"vision_model.embeddings.patch_embedding.weight", "patch_embed.proj.weight"},
      {"vision_model.embeddings.class_embedding", "cls_token"},
      {"vision_model.embeddings.position_embedding.weight", "pos_embed"},
      {"{vision_model|text_model}.embeddings.position_ids", "-"},  // a buffer of 0..T-1
      {"vision_model.pre_layrnorm.(weight|bias)", "norm_pre.$1"},  // sic: transformers' name
      {"vision_model." VIT_HFC_LAYER "layer_norm(1|2).(weight|bias)", "blocks.$1.norm$2.$3"},
      {"vision_model." VIT_HFC_LAYER "self_attn.(q|k|v)_proj.(weight|bias)", "blocks.$1.attn.qkv.$3#$2"},
      {"vision_model." VIT_HFC_LAYER "self_attn.out_proj.(weight|bias)", "blocks.$1.attn.proj.$2"},
      {"vision_model." VIT_HFC_LAYER "mlp.fc(1|2).(weight|bias)", "blocks.$1.mlp.fc$2.$3"},
      {"vision_model.post_layernorm.(weight|bias)", "norm.$1"},
      {"visual_projection.weight", "head.weight"},
      {"text_model.embeddings.token_embedding.weight", "text.token_embedding"},
      {"text_model.embeddings.position_embedding.weight", "text.pos_embed"},
      {"text_model." VIT_HFC_LAYER "layer_norm(1|2).(weight|bias)", "text.blocks.$1.norm$2.$3"},
      {"text_model." VIT_HFC_LAYER "self_attn.(q|k|v)_proj.(weight|bias)", "text.blocks.$1.attn.qkv.$3#$2"},
      {"text_model." VIT_HFC_LAYER "self_attn.out_proj.(weight|bias)", "text.blocks.$1.attn.proj.$2"},
      {"text_model." VIT_HFC_LAYER "mlp.fc(1|2).(weight|bias)", "text.blocks.$1.mlp.fc$2.$3"},
      {"text_model.final_layer_norm.(weight|bias)", "text.norm.$1"},
      {"text_projection.weight", "text.proj.weight"},
      {"logit_scale", "text.logit_scale"},
  };
}
#undef VIT_HFC_LAYER

// Whether name[i..] matches pattern[p..] (see Rule), captures appended. The recursion is one
// level per alternative group of the pattern (a handful), whatever the name.
bool match_from(const std::string& pattern, size_t p, const std::string& name, size_t i,
                std::vector<std::string>& captures) {
  while (p < pattern.size()) {
    const char c = pattern[p];
    if (c == '#') {
      size_t j = i;
      while (j < name.size() && j - i <= kMaxIndexDigits && std::isdigit(static_cast<unsigned char>(name[j]))) ++j;
      if (j == i || j - i > kMaxIndexDigits) return false;
      captures.push_back(name.substr(i, j - i));
      i = j;
      ++p;
      continue;
    }
    if (c == '(' || c == '{') {
      const size_t close = pattern.find(c == '(' ? ')' : '}', p);
      for (size_t start = p + 1;;) {
        size_t bar = pattern.find('|', start);
        if (bar == std::string::npos || bar > close) bar = close;
        const size_t n = bar - start;
        if (i + n <= name.size() && name.compare(i, n, pattern, start, n) == 0) {
          if (c == '(') captures.push_back(pattern.substr(start, n));
          if (match_from(pattern, close + 1, name, i + n, captures)) return true;
          if (c == '(') captures.pop_back();
        }
        if (bar == close) return false;
        start = bar + 1;
      }
    }
    if (i >= name.size() || name[i] != c) return false;
    ++i;
    ++p;
  }
  return i == name.size();
}

// The rule's canonical name for `name`, or none.
std::optional<std::string> apply(const Rule& rule, const std::string& name) {
  std::vector<std::string> captures;
  if (!match_from(rule.from, 0, name, 0, captures)) return std::nullopt;
  const std::string to = rule.to;
  if (to == "$&") return name;
  std::string out;
  for (size_t k = 0; k < to.size(); ++k) {
    if (to[k] == '$' && k + 1 < to.size() && to[k + 1] >= '1' && to[k + 1] <= '9') {
      const auto which = static_cast<size_t>(to[++k] - '1');
      if (which >= captures.size()) throw Error(std::string("internal: rule '") + rule.from + "' has no $" + to[k]);
      out += captures[which];
    } else {
      out += to[k];
    }
  }
  return out;
}

// What an unknown tensor shows about the model, for the error message.
std::string hint_for_unknown(const std::string& name) {
  const auto has = [&](const char* part) { return name.find(part) != std::string::npos; };
  if (has("attn.gate")) return " (gated attention: not supported)";
  if (has("rope"))
    return " (rotary position embeddings other than timm's RotaryEmbeddingCat and RotaryEmbeddingMixed: not supported)";
  if (has("patch_embed.norm")) return " (a normalised patch embedding: not supported)";
  if (has("pre_logits")) return " (a pre-logits layer: not supported)";
  if (has("attn_pool")) return " (an attentional pooler, CoCa: not supported)";
  if (has("logit_bias")) return " (a SigLIP-style logit bias: sigmoid scores, not supported)";
  if (has("visual.trunk") || has("visual.head")) return " (a timm image tower inside open_clip: not supported)";
  if (has("text.transformer") || has("text.proj"))
    return " (a Hugging Face text tower inside open_clip: not supported)";
  if (name.find("pooler") != std::string::npos)
    return " (a Hugging Face ViTModel pooler: use a ViTForImageClassification checkpoint)";
  return "";
}

// The canonical name for one of the family's names; "" when no rule matches.
std::string map_name(const std::string& name, const std::vector<Rule>& rules) {
  if (name.size() > kMaxNameBytes) return "";
  for (const auto& r : rules)
    if (auto mapped = apply(r, name)) return *mapped;
  return "";
}

// HF's query/key/value rows stacked into timm's fused qkv, (3D, D) and (3D).
void fuse_qkv(std::map<std::string, std::map<char, torch::Tensor>>& parts, std::map<std::string, torch::Tensor>& out) {
  for (auto& kv : parts) {
    for (char part : {'q', 'k', 'v'}) {
      if (kv.second.count(part)) continue;
      const std::string which = part == 'q' ? "query" : part == 'k' ? "key" : "value";
      throw ModelError("missing tensor: the " + which + " part of '" + clipped(kv.first) +
                       "' (Hugging Face attention." + which + ")");
    }
    out[kv.first] = torch::cat({kv.second['q'], kv.second['k'], kv.second['v']}, 0);
  }
}

}  // namespace

const FamilyFacts& family_facts(Family f) {
  // Each row built on first use; a switch without default, so that a new family is a compile
  // error (-Wswitch-enum) until it has its row. Fields in FamilyFacts' order: name, patch
  // embedding, position embeddings, preset, position-embedding resampling, a distillation token
  // without its head allowed, DeiT's wrapper key, tensor-name rules.
  switch (f) {
    case Family::Timm: {
      static const FamilyFacts timm{"timm",                      // as timm names it
                                    "patch_embed.proj.weight",   //
                                    "pos_embed",                 //
                                    Preset::Timm,                //
                                    PosResample::TimmAntialias,  // resample_abs_pos_embed
                                    false,                       // DeiT: both heads
                                    "model",                     // Facebook's DeiT files
                                    false,                       // one tower
                                    with_rel_pos_rules(Family::Timm, timm_rules())};
      return timm;
    }
    case Family::Torchvision: {
      static const FamilyFacts torchvision{"torchvision",                     //
                                           "conv_proj.weight",                //
                                           "encoder.pos_embedding",           //
                                           Preset::Torchvision,               //
                                           PosResample::BicubicAlignCorners,  // interpolate_embeddings
                                           false,                             //
                                           nullptr,                           //
                                           false,                             //
                                           torchvision_rules()};
      return torchvision;
    }
    case Family::HuggingFace: {
      static const FamilyFacts hf{"hf",                                             //
                                  "embeddings.patch_embeddings.projection.weight",  //
                                  "embeddings.position_embeddings",                 //
                                  Preset::Hf,                                       //
                                  PosResample::Bicubic,                             // interpolate_pos_encoding
                                  true,     // DeiTForImageClassification: one head
                                  nullptr,  //
                                  false,    //
                                  with_rel_pos_rules(Family::HuggingFace, huggingface_rules())};
      return hf;
    }
    case Family::OpenClip: {
      static const FamilyFacts open_clip{"open_clip",                    //
                                         "visual.conv1.weight",          //
                                         "visual.positional_embedding",  //
                                         Preset::Clip,                   // open_clip's eval transform
                                         PosResample::TimmAntialias,     // resize_pos_embed: bicubic, antialias
                                         false,                          //
                                         nullptr,                        //
                                         true,                           // image and text towers
                                         open_clip_rules()};
      return open_clip;
    }
    case Family::HfClip: {
      static const FamilyFacts hf_clip{"hf_clip",                                            //
                                       "vision_model.embeddings.patch_embedding.weight",     //
                                       "vision_model.embeddings.position_embedding.weight",  //
                                       Preset::Clip,                                         //
                                       PosResample::Bicubic,                                 // interpolate_pos_encoding
                                       false,                                                //
                                       nullptr,                                              //
                                       true,                                                 // image and text towers
                                       hf_clip_rules()};
      return hf_clip;
    }
  }
  throw Error("internal: model family " + std::to_string(static_cast<int>(f)) + " has no row");
}

const std::vector<Family>& all_families() {
  static const std::vector<Family> all{Family::Timm, Family::Torchvision, Family::HuggingFace, Family::OpenClip,
                                       Family::HfClip};
  return all;
}

bool is_patch_embed(Family f, const std::string& tensor_name) {
  return ends_with(tensor_name, family_facts(f).patch_embed);
}
bool is_pos_embed(Family f, const std::string& tensor_name) {
  return ends_with(tensor_name, family_facts(f).pos_embed);
}

bool is_dropped_tensor(Family f, const std::string& tensor_name) {
  const bool ddp = tensor_name.rfind("module.", 0) == 0;  // as canonical_tensors reads it
  return map_name(ddp ? tensor_name.substr(7) : tensor_name, family_facts(f).rules) == "-";
}

std::string quoted_names(const std::vector<std::string>& names, size_t most) {
  std::string list;
  for (size_t i = 0; i < names.size() && i < most; ++i) list += (i ? ", '" : "'") + clipped(names[i]) + "'";
  if (names.size() > most) list += " and " + std::to_string(names.size() - most) + " more";
  return list;
}

Family detect_family(const std::vector<std::string>& names) {
  for (const Family f : all_families())
    for (const auto& n : names)
      if (ends_with(n, family_facts(f).patch_embed) || (f == Family::Timm && ends_with(n, kXcitPatchEmbed))) return f;
  // Families vit-classify knows and does not build: named, with the tensor that shows them.
  for (const auto& n : names)
    if (n == "embeds.proj.weight" || n == "embeds.pos_embed" || n == "embeds.pos_embed_y")
      throw ModelError("tensor '" + n +
                       "' is timm naflexvit.py's NaFlex embedding (variable-resolution, aspect-preserving patch "
                       "grids with their own input sizing): NaFlexViT is not supported");
  std::vector<std::string> first(names.begin(),
                                 names.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(3, names.size())));
  throw ModelError("no ViT patch embedding found among " + std::to_string(names.size()) +
                   " tensors (expected timm 'patch_embed.proj.weight', torchvision 'conv_proj.weight', Hugging Face "
                   "'vit.embeddings.patch_embeddings.projection.weight' or open_clip 'visual.conv1.weight'); first "
                   "names: " +
                   quoted_names(first, 3) + ". Is this a Vision Transformer checkpoint?");
}

std::map<std::string, torch::Tensor> canonical_tensors(const std::map<std::string, torch::Tensor>& raw, Family family) {
  const auto& rules = family_facts(family).rules;
  std::map<std::string, torch::Tensor> out;
  std::map<std::string, std::map<char, torch::Tensor>> qkv_parts;  // HF: "blocks.i.attn.qkv.weight" -> q, k, v
  std::vector<std::string> unknown;
  for (const auto& kv : raw) {
    std::string name = kv.first;
    if (name.rfind("module.", 0) == 0) name = name.substr(7);  // DistributedDataParallel prefix
    std::string mapped = map_name(name, rules);
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
    torch::Tensor t = kv.second;
    if (ends_with(mapped, "^T")) {
      mapped.resize(mapped.size() - 2);
      if (t.dim() != 2)
        throw ModelError("tensor '" + clipped(kv.first) + "' has shape " + c10::str(t.sizes()) +
                         ", expected a (in, out) matrix");
      t = t.t().contiguous();
    }
    if (mapped == "cls_token" && t.dim() == 1) t = t.view({1, 1, -1});  // CLIP's class_embedding (D)
    if (out.count(mapped))
      throw ModelError("two tensors map to '" + mapped + "' (second: '" + clipped(kv.first) + "')");
    out[mapped] = t;
  }
  if (!unknown.empty())
    throw ModelError(std::string("unexpected tensor") + (unknown.size() > 1 ? "s " : " ") + quoted_names(unknown, 5) +
                     " in a " + family_name(family) + "-style ViT checkpoint" + hint_for_unknown(unknown[0]));
  fuse_qkv(qkv_parts, out);
  return out;
}

}  // namespace vit
