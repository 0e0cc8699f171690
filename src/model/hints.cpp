// config.json and preprocessor_config.json; see include/vit/model/hints.h.
#include "vit/model/hints.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "vit/errors.h"
#include "vit/io/files.h"
#include "vit/io/text.h"
#include "vit/model/architecture.h"
#include "vit/model/config.h"
#include "vit/model/eva_layers.h"

namespace vit {

namespace {

using nlohmann::json;

std::optional<json> read_json(const std::string& path) {
  if (!is_regular_file(path)) return std::nullopt;  // absent (or a FIFO, which would block)
  std::ifstream in(path);
  if (!in) return std::nullopt;
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw ModelError("'" + path + "' is not valid JSON: " + e.what());
  }
}

// A number from a config file, refused unless finite and within [lo, hi] (a value out of range
// would otherwise reach a size computation or a float-to-int conversion).
double number_in(const json& j, double lo, double hi, const std::string& what, const std::string& path) {
  const double v = j.is_number() ? j.get<double>() : std::nan("");
  if (!(v >= lo && v <= hi))
    throw ModelError("'" + path + "': " + what + " is " + j.dump() + "; expected a number from " + json(lo).dump() +
                     " to " + json(hi).dump());
  return v;
}
int int_in(const json& j, int lo, int hi, const std::string& what, const std::string& path) {
  const double v = number_in(j, lo, hi, what, path);
  if (v != std::floor(v)) throw ModelError("'" + path + "': " + what + " is " + j.dump() + "; expected a whole number");
  return static_cast<int>(v);
}
constexpr int kMaxSide = 16384;  // the largest image side a config may ask for
constexpr size_t kMaxArchitectureName = 256;

// mean or std: three finite numbers (std above zero, as the normalisation divides by it).
std::array<float, 3> three_floats(const json& j, const std::string& what, const std::string& path, bool positive) {
  if (!j.is_array() || j.size() != 3) throw ModelError("'" + path + "': " + what + " must be a list of 3 numbers");
  std::array<float, 3> r{};
  for (size_t i = 0; i < 3; ++i) r[i] = static_cast<float>(number_in(j[i], positive ? 1e-6 : -1e6, 1e6, what, path));
  return r;
}

Interpolation pil_resample(int code) {  // PIL.Image.Resampling values
  switch (code) {
    case 0: return Interpolation::Nearest;
    case 1: return Interpolation::Lanczos;
    case 2: return Interpolation::Bilinear;
    case 3: return Interpolation::Bicubic;
    case 4: return Interpolation::Box;
    case 5: return Interpolation::Hamming;
    default: throw ModelError("unknown PIL resample code " + std::to_string(code));
  }
}

bool looks_like_wnid(const std::string& s) {
  return s.size() == 9 && s[0] == 'n' && std::all_of(s.begin() + 1, s.end(), ::isdigit);
}

// Hugging Face's id2label, unless it holds only the generic LABEL_i names.
std::optional<Labels> id2label(const json& map, const std::string& path) {
  std::vector<Label> labels(map.size());
  bool generic = true;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string& key = it.key();
    if (key.empty() || key.size() > 9 || !std::all_of(key.begin(), key.end(), ::isdigit))
      throw ModelError("'" + path + "': id2label key '" + key + "' is not a class index");
    const size_t i = std::stoul(key);
    if (i >= labels.size()) throw ModelError("'" + path + "': id2label key " + key + " out of range");
    if (!it.value().is_string()) throw ModelError("'" + path + "': id2label[" + key + "] is not a string");
    labels[i].name = it.value().get<std::string>();
    if (labels[i].name != "LABEL_" + it.key()) generic = false;
  }
  if (generic) return std::nullopt;
  return Labels(labels);
}

// timm's pretrained_cfg: input_size, crop_pct, crop_mode, interpolation, mean, std (the
// defaults are timm's: resolve_data_config and transforms_imagenet_eval).
TimmEvalConfig timm_pretrained_cfg(const json& p, const std::string& path) {
  TimmEvalConfig t;
  t.input_size = 224;
  if (p.contains("input_size")) {
    const auto& s = p["input_size"];
    if (!s.is_array() || s.size() != 3) throw ModelError("'" + path + "': pretrained_cfg.input_size is not [C, H, W]");
    t.input_size = int_in(s[2], 1, kMaxSide, "pretrained_cfg.input_size", path);
    if (int_in(s[1], 1, kMaxSide, "pretrained_cfg.input_size", path) != t.input_size)
      throw ModelError("'" + path + "': pretrained_cfg.input_size " + s.dump() + " is not square");
  }
  if (p.contains("crop_pct")) t.crop_pct = number_in(p["crop_pct"], 0.01, 4.0, "crop_pct", path);
  if (p.contains("crop_mode") && !p["crop_mode"].is_null()) {
    try {
      t.crop_mode = parse_named(crop_mode_names(), p["crop_mode"].get<std::string>(), "pretrained_cfg crop_mode");
    } catch (const UsageError& e) {
      throw ModelError("'" + path + "': " + e.what());
    }
  }
  t.interpolation = Interpolation::Bicubic;  // timm's default for ViTs when the cfg is silent
  if (p.contains("interpolation")) {
    try {
      t.interpolation = parse_interpolation(p["interpolation"].get<std::string>());
    } catch (const UsageError& e) {
      throw ModelError("'" + path + "': pretrained_cfg " + e.what());
    }
  }
  t.mean = {0.485f, 0.456f, 0.406f};
  t.std = {0.229f, 0.224f, 0.225f};
  if (p.contains("mean")) t.mean = three_floats(p["mean"], "pretrained_cfg.mean", path, false);
  if (p.contains("std")) t.std = three_floats(p["std"], "pretrained_cfg.std", path, true);
  return t;
}

Pool timm_global_pool(const json& j, const std::string& path) {
  static const std::pair<const char*, Pool> pools[] = {
      {"token", Pool::Token}, {"avg", Pool::Avg}, {"max", Pool::Max}, {"avgmax", Pool::AvgMax}, {"map", Pool::Map}};
  const std::string v = j.is_string() ? j.get<std::string>() : j.dump();
  for (const auto& [name, pool] : pools)
    if (v == name) return pool;
  throw ModelError("'" + path + "': global_pool '" + v + "' is not supported (token, avg, max, avgmax or map)");
}

Activation activation_named(const std::string& v, const std::string& what, const std::string& path) {
  if (v == "gelu") return Activation::Gelu;
  if (v == "quick_gelu") return Activation::QuickGelu;
  if (v == "gelu_tanh" || v == "gelu_pytorch_tanh" || v == "gelu_new") return Activation::GeluTanh;
  throw ModelError("'" + path + "': " + what + " '" + v + "' is not supported (gelu, gelu_tanh or quick_gelu)");
}

// timm's model_args: the keyword arguments the architecture was built with beyond its
// defaults. Those the tensors show are accepted as they are; those that change the
// computation without a tensor of their own are read; anything else is refused by name.
void read_timm_model_args(const json& a, const std::string& path, ModelHints& h) {
  static const char* shown_by_tensors[] = {
      "embed_dim",        "depth",           "patch_size",      "in_chans",       "num_classes",     "mlp_ratio",
      "class_token",      "reg_tokens",      "no_embed_class",  "qkv_bias",       "qk_norm",         "init_values",
      "pre_norm",         "fc_norm",         "final_norm",      "proj_bias",      "scale_attn_norm", "scale_mlp_norm",
      "drop_rate",        "pos_drop_rate",   "patch_drop_rate", "proj_drop_rate", "attn_drop_rate",  "drop_path_rate",
      "dynamic_img_size", "dynamic_img_pad", "img_size",        "weight_init",    "rel_pos_dim",     "eta",
      "cls_attn_layers",  "use_pos_embed"};  // XCiT's: eta, cls_attn_layers, use_pos_embed
  for (auto it = a.begin(); it != a.end(); ++it) {
    const std::string& k = it.key();
    if (k == "num_heads") {
      h.heads = int_in(it.value(), 1, 4096, "model_args.num_heads", path);
    } else if (k == "global_pool") {
      h.pool = timm_global_pool(it.value(), path);
    } else if (k == "tokens_norm") {  // XCiT
      if (!it.value().is_boolean()) throw ModelError("'" + path + "': model_args.tokens_norm is not true or false");
      h.xcit_tokens_norm = it.value().get<bool>();
    } else if (k == "act_layer") {
      if (!it.value().is_string()) throw ModelError("'" + path + "': model_args.act_layer is not a name");
      h.act = activation_named(it.value().get<std::string>(), "model_args.act_layer", path);
    } else if (is_eva_model_arg(k)) {
      h.eva_args[k] = it.value().dump();
    } else if (k != "depth_token_only" && k != "mlp_ratio_token_only" &&  // CaiT's: blocks_token_only.* show them
               std::find_if(std::begin(shown_by_tensors), std::end(shown_by_tensors),
                            [&](const char* s) { return k == s; }) == std::end(shown_by_tensors)) {
      throw ModelError("'" + path + "': model_args." + k + " = " + it.value().dump() +
                       " is not supported: vit-classify cannot build that variant exactly");
    }
  }
}

// timm's hub config.json: the architecture name, global_pool, model_args, label_names,
// pretrained_cfg.
void read_timm_config(const json& c, const std::string& path, ModelHints& h) {
  if (!c["architecture"].is_string()) throw ModelError("'" + path + "': architecture is not a name");
  h.architecture = c["architecture"].get<std::string>();
  if (h.architecture.size() > kMaxArchitectureName)
    throw ModelError("'" + path + "': architecture is " + std::to_string(h.architecture.size()) +
                     " characters long ('" + clipped(h.architecture, 60) + "'); a timm architecture name has at most " +
                     std::to_string(kMaxArchitectureName) + " (such as vit_base_patch16_224)");
  const ArchitectureFacts facts = timm_architecture_facts(h.architecture);
  if (h.heads == 0) h.heads = facts.heads;
  if (facts.eps) h.eps = facts.eps;
  if (facts.act) h.act = facts.act;
  if (facts.block) h.block = facts.block;
  if (facts.xcit_tokens_norm) h.xcit_tokens_norm = facts.xcit_tokens_norm;
  if (c.contains("global_pool")) h.pool = timm_global_pool(c["global_pool"], path);
  if (c.contains("model_args") && c["model_args"].is_object()) read_timm_model_args(c["model_args"], path, h);
  if (c.contains("label_names") && c["label_names"].is_array() && !c["label_names"].empty() &&
      c["label_names"][0].is_string() && !looks_like_wnid(c["label_names"][0].get<std::string>())) {
    std::vector<Label> labels;
    for (const auto& n : c["label_names"]) labels.push_back({"", n.get<std::string>()});
    h.labels = Labels(labels);
  }
  if (c.contains("pretrained_cfg") && c["pretrained_cfg"].is_object()) {
    h.timm_eval = timm_pretrained_cfg(c["pretrained_cfg"], path);
    h.preprocess = timm_eval_preprocess(*h.timm_eval, h.timm_eval->input_size);
    h.preprocess->preset = "timm (pretrained_cfg in config.json)";
    h.input_size = h.timm_eval->input_size;
  }
}

void read_config(const json& c, const std::string& path, ModelHints& h) {
  if (c.contains("num_attention_heads"))
    h.heads = int_in(c["num_attention_heads"], 1, 4096, "num_attention_heads", path);
  if (c.contains("num_heads")) h.heads = int_in(c["num_heads"], 1, 4096, "num_heads", path);
  if (c.contains("layer_norm_eps")) h.eps = number_in(c["layer_norm_eps"], 0, 1, "layer_norm_eps", path);
  if (c.contains("hidden_act")) {
    if (!c["hidden_act"].is_string()) throw ModelError("'" + path + "': hidden_act is not a name");
    h.act = activation_named(c["hidden_act"].get<std::string>(), "hidden_act", path);
  }
  if (c.contains("model_type") && c["model_type"].is_string()) h.architecture = c["model_type"].get<std::string>();
  if (c.contains("id2label") && c["id2label"].is_object()) h.labels = id2label(c["id2label"], path);
  if (c.contains("architecture")) read_timm_config(c, path, h);
  if (c.contains("vision_config") && c.contains("text_config") && c["vision_config"].is_object() &&
      c["text_config"].is_object()) {  // transformers' CLIPConfig
    ClipHints clip;
    clip.path = path;
    const json &v = c["vision_config"], &t = c["text_config"];
    if (v.contains("num_attention_heads"))
      clip.vision_heads = int_in(v["num_attention_heads"], 1, 4096, "vision_config.num_attention_heads", path);
    if (t.contains("num_attention_heads"))
      clip.text_heads = int_in(t["num_attention_heads"], 1, 4096, "text_config.num_attention_heads", path);
    if (v.contains("image_size"))
      clip.image_size = int_in(v["image_size"], 1, kMaxSide, "vision_config.image_size", path);
    for (const json* part : {&v, &t}) {
      const std::string act = part->value("hidden_act", std::string("quick_gelu"));
      if (act == "quick_gelu")
        clip.quick_gelu = true;
      else if (act != "gelu")
        clip.unsupported.push_back("hidden_act '" + clipped(act) + "'");
    }
    if (v.value("hidden_act", std::string("quick_gelu")) != t.value("hidden_act", std::string("quick_gelu")))
      clip.unsupported.push_back("different activations in the two towers");
    for (const json* part : {&v, &t})
      if (part->contains("layer_norm_eps") &&
          number_in((*part)["layer_norm_eps"], 0, 1, "layer_norm_eps", path) != 1e-5)
        clip.unsupported.push_back("layer_norm_eps " + (*part)["layer_norm_eps"].dump());
    h.clip = clip;
  }
}

// Hugging Face's image processor: size, crop, resample, normalisation.
PreprocessConfig read_preprocessor_config(const json& p, const std::string& path) {
  PreprocessConfig pc = preset_config(Preset::Hf, 224);
  pc.preset = "hf (from preprocessor_config.json)";
  if (p.contains("size")) {
    const auto& s = p["size"];
    const std::string kind = p.value("image_processor_type", p.value("feature_extractor_type", std::string()));
    if (s.is_number() && kind.find("CLIP") != std::string::npos) {  // CLIP's processor: an int is the shorter side
      pc.resize_width = pc.resize_height = 0;
      pc.resize_short = int_in(s, 1, kMaxSide, "size", path);
    } else if (s.is_number()) {
      pc.resize_width = pc.resize_height = int_in(s, 1, kMaxSide, "size", path);
    } else if (s.contains("shortest_edge")) {
      pc.resize_width = pc.resize_height = 0;
      pc.resize_short = int_in(s["shortest_edge"], 1, kMaxSide, "size.shortest_edge", path);
    } else if (s.contains("height") && s.contains("width")) {
      pc.resize_width = int_in(s["width"], 1, kMaxSide, "size.width", path);
      pc.resize_height = int_in(s["height"], 1, kMaxSide, "size.height", path);
    }
  }
  if (!p.value("do_resize", true)) pc.resize_width = pc.resize_height = pc.resize_short = 0;
  pc.crop_rounding = CropRounding::HuggingFace;
  if (p.value("do_center_crop", false) && p.contains("crop_size")) {
    const auto& cs = p["crop_size"];
    if (!cs.is_object())
      pc.crop = int_in(cs, 1, kMaxSide, "crop_size", path);
    else if (cs.contains("height"))
      pc.crop = int_in(cs["height"], 1, kMaxSide, "crop_size.height", path);
  }
  if (p.contains("resample")) pc.interpolation = pil_resample(int_in(p["resample"], 0, 5, "resample", path));
  if (p.value("do_normalize", true)) {
    if (p.contains("image_mean")) pc.mean = three_floats(p["image_mean"], "image_mean", path, false);
    if (p.contains("image_std")) pc.std = three_floats(p["image_std"], "image_std", path, true);
  } else {
    pc.mean = {0, 0, 0};
    pc.std = {1, 1, 1};
  }
  return pc;
}

// open_clip's interpolation names onto ours (its 'random' is for training).
Interpolation open_clip_interpolation(const json& j, const std::string& path) {
  const std::string v = j.is_string() ? j.get<std::string>() : j.dump();
  if (v == "bicubic") return Interpolation::Bicubic;
  if (v == "bilinear") return Interpolation::Bilinear;
  if (v == "nearest") return Interpolation::Nearest;
  throw ModelError("'" + path + "': preprocess_cfg.interpolation is '" + clipped(v) +
                   "'; expected bicubic, bilinear or nearest");
}

// A side given as N or [N, N]; non-square sizes are refused (the model runs on square grids).
int square_side(const json& j, const std::string& what, const std::string& path) {
  if (j.is_array() && j.size() == 2) {
    const int h = int_in(j[0], 1, kMaxSide, what, path), w = int_in(j[1], 1, kMaxSide, what, path);
    if (h != w) throw ModelError("'" + path + "': " + what + " is " + j.dump() + ": only square inputs are supported");
    return h;
  }
  return int_in(j, 1, kMaxSide, what, path);
}

// open_clip_config.json: {"model_cfg": {...}, "preprocess_cfg": {...}} (open_clip's hub files).
void read_open_clip_config(const json& c, const std::string& path, ModelHints& h, bool preprocess_is_ours) {
  ClipHints clip;
  clip.path = path;
  const json& m = c.contains("model_cfg") ? c["model_cfg"] : c;
  if (!m.is_object()) throw ModelError("'" + path + "': model_cfg is not an object");
  const auto refuse_if = [&](bool cond, const std::string& what) {
    if (cond) clip.unsupported.push_back(what);
  };
  clip.quick_gelu = m.value("quick_gelu", false);
  refuse_if(m.value("custom_text", false) && m.contains("text_cfg") && m["text_cfg"].is_object() &&
                m["text_cfg"].contains("hf_model_name"),
            "text_cfg.hf_model_name (a Hugging Face text tower)");
  if (m.contains("vision_cfg") && m["vision_cfg"].is_object()) {
    const json& v = m["vision_cfg"];
    if (v.contains("image_size")) clip.image_size = square_side(v["image_size"], "vision_cfg.image_size", path);
    if (v.contains("width")) {
      const int width = int_in(v["width"], 1, 1 << 16, "vision_cfg.width", path);
      const int head_width =
          v.contains("head_width") ? int_in(v["head_width"], 1, 1 << 16, "vision_cfg.head_width", path) : 64;
      if (width % head_width == 0) clip.vision_heads = width / head_width;
    }
    const std::string pool = v.value("pool_type", std::string("tok"));
    clip.vision_avg_pool = pool == "avg";
    refuse_if(pool != "tok" && pool != "avg", "vision_cfg.pool_type '" + clipped(pool) + "'");
    clip.final_ln_after_pool = v.value("final_ln_after_pool", false);
    refuse_if(v.value("attentional_pool", false), "vision_cfg.attentional_pool (CoCa)");
    refuse_if(v.value("pos_embed_type", std::string("learnable")) != "learnable",
              "vision_cfg.pos_embed_type '" + clipped(v.value("pos_embed_type", std::string())) + "'");
    refuse_if(v.contains("timm_model_name") && !v["timm_model_name"].is_null(),
              "vision_cfg.timm_model_name (a timm image tower)");
    refuse_if(v.contains("act_kwargs") || v.contains("norm_kwargs"), "vision_cfg.act_kwargs/norm_kwargs");
  }
  if (m.contains("text_cfg") && m["text_cfg"].is_object()) {
    const json& t = m["text_cfg"];
    if (t.contains("heads")) clip.text_heads = int_in(t["heads"], 1, 4096, "text_cfg.heads", path);
    refuse_if(t.contains("hf_tokenizer_name"), "text_cfg.hf_tokenizer_name (a Hugging Face tokenizer)");
    refuse_if(t.contains("hf_model_name"), "text_cfg.hf_model_name (a Hugging Face text tower)");
    refuse_if(t.value("pool_type", std::string("argmax")) != "argmax",
              "text_cfg.pool_type '" + clipped(t.value("pool_type", std::string())) + "'");
    refuse_if(t.value("no_causal_mask", false), "text_cfg.no_causal_mask");
    refuse_if(t.value("embed_cls", false), "text_cfg.embed_cls (CoCa)");
    refuse_if(t.contains("tokenizer_kwargs"), "text_cfg.tokenizer_kwargs");
    refuse_if(t.contains("act_kwargs") || t.contains("norm_kwargs"), "text_cfg.act_kwargs/norm_kwargs");
  }
  if (c.contains("preprocess_cfg") && c["preprocess_cfg"].is_object() && preprocess_is_ours) {
    const json& p = c["preprocess_cfg"];
    const int side = clip.image_size > 0 ? static_cast<int>(clip.image_size) : 224;
    PreprocessConfig pc = preset_config(Preset::Clip, side);
    pc.preset = "clip (from open_clip_config.json)";
    if (p.contains("mean")) pc.mean = three_floats(p["mean"], "preprocess_cfg.mean", path, false);
    if (p.contains("std")) pc.std = three_floats(p["std"], "preprocess_cfg.std", path, true);
    if (p.contains("interpolation")) pc.interpolation = open_clip_interpolation(p["interpolation"], path);
    const std::string mode = p.value("resize_mode", std::string("shortest"));
    if (mode == "squash") {
      pc.resize_short = 0;
      pc.resize_width = pc.resize_height = side;
    } else if (mode == "longest") {
      pc.resize_short = 0;
      pc.resize_long = side;
      if (p.contains("fill_color")) {
        const int fill = int_in(p["fill_color"], 0, 255, "preprocess_cfg.fill_color", path);
        pc.pad_color = {static_cast<uint8_t>(fill), static_cast<uint8_t>(fill), static_cast<uint8_t>(fill)};
      }
    } else if (mode != "shortest") {
      throw ModelError("'" + path + "': preprocess_cfg.resize_mode is '" + clipped(mode) +
                       "'; expected shortest, longest or squash");
    }
    h.preprocess = pc;
    h.timm_eval.reset();
  }
  h.clip = clip;
}

}  // namespace

ModelHints read_model_hints(const std::string& weights_path) {
  ModelHints h;
  const std::string dir = dir_name(weights_path);
  try {
    const std::string cfg_path = dir + "/config.json";
    if (auto cfg = read_json(cfg_path)) {
      h.sources.push_back(cfg_path);
      read_config(*cfg, cfg_path, h);
    }
    const std::string pre_path = dir + "/preprocessor_config.json";
    if (auto pre = read_json(pre_path)) {
      h.sources.push_back(pre_path);
      h.preprocess = read_preprocessor_config(*pre, pre_path);
      h.timm_eval.reset();  // the processor's preprocessing wins over a pretrained_cfg beside it
      // Dinov2 (and with registers) always interpolates its 518-pixel position embeddings to its input.
      const auto out = output_size(*h.preprocess);
      if (starts_with(h.architecture, "dinov2") && out && out->first == out->second) h.input_size = out->first;
    }
    const std::string clip_path = dir + "/open_clip_config.json";
    if (auto clip = read_json(clip_path)) {
      h.sources.push_back(clip_path);
      // Its preprocessing is open_clip's: the one for open_clip's own files (a repository may
      // also hold Hugging Face's, with their processor's config).
      const auto slash = weights_path.find_last_of('/');
      const std::string base = slash == std::string::npos ? weights_path : weights_path.substr(slash + 1);
      read_open_clip_config(*clip, clip_path, h, starts_with(base, "open_clip_") || !h.preprocess);
    }
  } catch (const json::exception& e) {
    throw ModelError("config beside '" + weights_path + "' has an unexpected field type: " + e.what());
  }
  return h;
}

}  // namespace vit
