// Weights on disk -> VisionTransformer; see include/vit/weights.h.
#include "vit/weights.h"

#include <caffe2/serialize/inline_container.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "vit/errors.h"
#include "vit/safetensors.h"
#include "vit/torch_pickle.h"

namespace vit {

const char* format_name(FileFormat f) {
  switch (f) {
    case FileFormat::Safetensors: return "safetensors";
    case FileFormat::TorchZip: return "pytorch";
    case FileFormat::TorchScript: return "torchscript";
  }
  return "?";
}

const char* family_name(Family f) {
  switch (f) {
    case Family::Timm: return "timm";
    case Family::Torchvision: return "torchvision";
    case Family::HuggingFace: return "hf";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------
// Reading files

FileFormat detect_format(const std::string& path) {
  MappedFile file(path);  // errors for missing, directory, empty
  const uint8_t* d = file.data();
  const size_t n = file.size();
  if (n >= 4 && d[0] == 'P' && d[1] == 'K' && d[2] == 3 && d[3] == 4) {
    try {
      caffe2::serialize::PyTorchStreamReader reader(path);
      if (reader.hasRecord("constants.pkl")) return FileFormat::TorchScript;
      for (const auto& r : reader.getAllRecords())
        if (r.rfind("code/", 0) == 0) return FileFormat::TorchScript;
      return FileFormat::TorchZip;
    } catch (const c10::Error& e) {
      throw ModelError("'" + path + "' is a zip file but not a readable PyTorch archive: " + e.what_without_backtrace());
    }
  }
  if (n >= 2 && d[0] == 0x80 && d[1] <= 5)
    throw ModelError("'" + path + "' is a legacy (pre-1.6, non-zip) torch.save file; re-save it with a current "
                     "PyTorch (torch.save(torch.load(f), f)) or convert it to safetensors");
  // A JSON object after the 8-byte length is safetensors; so is a *.safetensors name, so that
  // damaged files get the validator's detailed errors.
  if (n > 8 && d[8] == '{') return FileFormat::Safetensors;
  if (path.size() >= 12 && path.compare(path.size() - 12, 12, ".safetensors") == 0) return FileFormat::Safetensors;
  throw ModelError("'" + path + "' is not a model file this tool reads (expected safetensors, a torch.save zip "
                   "checkpoint (.pth/.pt/.bin) or a TorchScript module)");
}

namespace {

torch::ScalarType torch_dtype(const TensorView& v, const std::string& path) {
  switch (v.dtype) {
    case DType::F32: return torch::kFloat32;
    case DType::F16: return torch::kFloat16;
    case DType::BF16: return torch::kBFloat16;
    case DType::F64: return torch::kFloat64;
    default:
      throw ModelError("'" + path + "': tensor '" + v.name + "' has dtype " + dtype_name(v.dtype) +
                       "; weights must be F32, F16, BF16 or F64 (quantised checkpoints are not supported)");
  }
}

}  // namespace

RawCheckpoint read_checkpoint(const std::string& path) {
  RawCheckpoint ck;
  ck.format = detect_format(path);
  if (ck.format == FileFormat::TorchScript)
    throw ModelError("'" + path + "' is a TorchScript module, not a weights file");
  if (ck.format == FileFormat::Safetensors) {
    auto file = std::make_shared<SafetensorsFile>(path);
    for (const TensorView& v : file->tensors()) {
      const auto dtype = torch_dtype(v, path);
      void* ptr = const_cast<uint8_t*>(v.data);
      torch::Tensor t;
      if (reinterpret_cast<uintptr_t>(ptr) % dtype_size(v.dtype) == 0) {
        t = torch::from_blob(ptr, v.shape, torch::TensorOptions().dtype(dtype));  // a view of the mapping
      } else {  // pre-2023 writers did not align the header: copy this one tensor
        t = torch::empty(v.shape, torch::TensorOptions().dtype(dtype));
        std::memcpy(t.data_ptr(), v.data, v.nbytes);
      }
      ck.tensors[v.name] = t;
    }
    ck.keepalive = file;
    ck.release = [file](const torch::Tensor& t) { file->file().release(t.data_ptr(), t.nbytes()); };
    return ck;
  }
  TorchCheckpoint tc = read_torch_checkpoint(path);
  for (auto& kv : tc.tensors) {
    const auto st = kv.second.scalar_type();
    if (st != torch::kFloat32 && st != torch::kFloat16 && st != torch::kBFloat16 && st != torch::kFloat64)
      throw ModelError("'" + path + "': tensor '" + kv.first + "' has dtype " + std::string(c10::toString(st)) +
                       "; weights must be floating point");
  }
  ck.tensors = std::move(tc.tensors);
  ck.wrapper_key = tc.wrapper_key;
  return ck;
}

// ---------------------------------------------------------------------------------------
// config.json and preprocessor_config.json

namespace {

std::optional<nlohmann::json> read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw ModelError("'" + path + "' is not valid JSON: " + e.what());
  }
}

std::array<float, 3> three_floats(const nlohmann::json& j, const std::string& what, const std::string& path) {
  if (!j.is_array() || j.size() != 3) throw ModelError("'" + path + "': " + what + " must be a list of 3 numbers");
  return {j[0].get<float>(), j[1].get<float>(), j[2].get<float>()};
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

int64_t heads_from_timm_name(const std::string& arch) {
  static const std::vector<std::pair<std::string, int64_t>> sizes{
      {"_tiny_", 3}, {"_small_", 6}, {"_base_", 12}, {"_large_", 16}, {"_huge_", 16}};
  for (const auto& s : sizes)
    if (arch.find(s.first) != std::string::npos) return s.second;
  return 0;
}

}  // namespace

ModelHints read_model_hints(const std::string& weights_path) {
  ModelHints h;
  const auto slash = weights_path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : weights_path.substr(0, slash);
  const std::string cfg_path = dir + "/config.json";
  try {
    if (auto cfg = read_json(cfg_path)) {
      h.sources.push_back(cfg_path);
      const auto& c = *cfg;
      if (c.contains("num_attention_heads")) h.heads = c["num_attention_heads"].get<int64_t>();  // HF
      if (c.contains("num_heads")) h.heads = c["num_heads"].get<int64_t>();
      if (c.contains("layer_norm_eps")) h.eps = c["layer_norm_eps"].get<double>();
      if (c.contains("hidden_act") && c["hidden_act"] != "gelu")
        throw ModelError("'" + cfg_path + "': hidden_act " + c["hidden_act"].dump() + " is not supported (only exact gelu)");
      if (c.contains("id2label") && c["id2label"].is_object()) {
        std::vector<Label> labels(c["id2label"].size());
        bool generic = true;
        for (auto it = c["id2label"].begin(); it != c["id2label"].end(); ++it) {
          const size_t i = std::stoul(it.key());
          if (i >= labels.size()) throw ModelError("'" + cfg_path + "': id2label key " + it.key() + " out of range");
          labels[i].name = it.value().get<std::string>();
          if (labels[i].name != "LABEL_" + it.key()) generic = false;
        }
        if (!generic) h.labels = Labels(labels);
      }
      if (c.contains("architecture") && c["architecture"].is_string()) {  // timm hub config
        if (h.heads == 0) h.heads = heads_from_timm_name(c["architecture"].get<std::string>());
        if (c.contains("label_names") && c["label_names"].is_array() && !c["label_names"].empty() &&
            !looks_like_wnid(c["label_names"][0].get<std::string>())) {
          std::vector<Label> labels;
          for (const auto& n : c["label_names"]) labels.push_back({"", n.get<std::string>()});
          h.labels = Labels(labels);
        }
        if (c.contains("pretrained_cfg") && c["pretrained_cfg"].is_object()) {
          const auto& p = c["pretrained_cfg"];
          const int side = p.contains("input_size") ? p["input_size"][2].get<int>() : 224;
          PreprocessConfig pc = preset_config("timm", side);
          pc.preset = "timm (from config.json)";
          if (p.contains("crop_pct")) pc.resize_short = static_cast<int>(std::floor(side / p["crop_pct"].get<double>()));
          if (p.contains("interpolation")) pc.interpolation = parse_interpolation(p["interpolation"].get<std::string>());
          if (p.contains("mean")) pc.mean = three_floats(p["mean"], "pretrained_cfg.mean", cfg_path);
          if (p.contains("std")) pc.std = three_floats(p["std"], "pretrained_cfg.std", cfg_path);
          if (p.value("crop_mode", "center") == "squash") {
            pc.resize_short = 0;
            pc.resize_width = pc.resize_height = side;
            pc.crop = 0;
          }
          h.preprocess = pc;
        }
      }
    }
    const std::string pre_path = dir + "/preprocessor_config.json";
    if (auto pre = read_json(pre_path)) {  // Hugging Face image processor
      h.sources.push_back(pre_path);
      const auto& p = *pre;
      PreprocessConfig pc = preset_config("hf", 224);
      pc.preset = "hf (from preprocessor_config.json)";
      if (p.contains("size")) {
        const auto& s = p["size"];
        if (s.is_number()) {
          pc.resize_width = pc.resize_height = s.get<int>();
        } else if (s.contains("shortest_edge")) {
          pc.resize_width = pc.resize_height = 0;
          pc.resize_short = s["shortest_edge"].get<int>();
        } else if (s.contains("height") && s.contains("width")) {
          pc.resize_width = s["width"].get<int>();
          pc.resize_height = s["height"].get<int>();
        }
      }
      if (!p.value("do_resize", true)) pc.resize_width = pc.resize_height = pc.resize_short = 0;
      if (p.value("do_center_crop", false) && p.contains("crop_size")) {
        const auto& cs = p["crop_size"];
        pc.crop = cs.is_number() ? cs.get<int>() : cs.value("height", 224);
      }
      if (p.contains("resample")) pc.interpolation = pil_resample(p["resample"].get<int>());
      if (p.value("do_normalize", true)) {
        if (p.contains("image_mean")) pc.mean = three_floats(p["image_mean"], "image_mean", pre_path);
        if (p.contains("image_std")) pc.std = three_floats(p["image_std"], "image_std", pre_path);
      } else {
        pc.mean = {0, 0, 0};
        pc.std = {1, 1, 1};
      }
      h.preprocess = pc;
    }
  } catch (const nlohmann::json::exception& e) {
    throw ModelError("config beside '" + weights_path + "' has an unexpected field type: " + e.what());
  }
  return h;
}

// ---------------------------------------------------------------------------------------
// Names

Family detect_family(const std::vector<std::string>& names) {
  auto has_suffix = [&](const std::string& suffix) {
    for (const auto& n : names)
      if (n.size() >= suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) return true;
    return false;
  };
  if (has_suffix("patch_embed.proj.weight")) return Family::Timm;
  if (has_suffix("conv_proj.weight")) return Family::Torchvision;
  if (has_suffix("embeddings.patch_embeddings.projection.weight")) return Family::HuggingFace;
  std::string sample;
  for (size_t i = 0; i < names.size() && i < 3; ++i) sample += (i ? ", '" : "'") + names[i] + "'";
  throw ModelError("no ViT patch embedding found among " + std::to_string(names.size()) +
                   " tensors (expected timm 'patch_embed.proj.weight', torchvision 'conv_proj.weight' or Hugging Face "
                   "'vit.embeddings.patch_embeddings.projection.weight'); first names: " + sample +
                   ". Is this a Vision Transformer checkpoint?");
}

namespace {

// One rule: a regex on the file's name and the canonical name it becomes ($1 = block index).
struct Rule {
  std::regex from;
  std::string to;
};

const std::vector<Rule>& rules_for(Family f) {
  static const std::vector<Rule> timm{
      {std::regex(R"(^(patch_embed\.proj\.(weight|bias)|cls_token|dist_token|pos_embed|norm\.(weight|bias)|head\.(weight|bias)|head_dist\.(weight|bias))$)"), "$1"},
      {std::regex(R"(^blocks\.(\d+)\.(norm1|norm2|attn\.qkv|attn\.proj|mlp\.fc1|mlp\.fc2)\.(weight|bias)$)"), "blocks.$1.$2.$3"},
  };
  static const std::string tv_layer = R"(^encoder\.layers\.encoder_layer_(\d+)\.)";
  static const std::vector<Rule> torchvision{
      {std::regex(R"(^conv_proj\.(weight|bias)$)"), "patch_embed.proj.$1"},
      {std::regex(R"(^class_token$)"), "cls_token"},
      {std::regex(R"(^encoder\.pos_embedding$)"), "pos_embed"},
      {std::regex(tv_layer + R"(ln_1\.(weight|bias)$)"), "blocks.$1.norm1.$2"},
      {std::regex(tv_layer + R"(self_attention\.in_proj_(weight|bias)$)"), "blocks.$1.attn.qkv.$2"},
      {std::regex(tv_layer + R"(self_attention\.out_proj\.(weight|bias)$)"), "blocks.$1.attn.proj.$2"},
      {std::regex(tv_layer + R"(ln_2\.(weight|bias)$)"), "blocks.$1.norm2.$2"},
      {std::regex(tv_layer + R"(mlp\.(?:0|linear_1)\.(weight|bias)$)"), "blocks.$1.mlp.fc1.$2"},
      {std::regex(tv_layer + R"(mlp\.(?:3|linear_2)\.(weight|bias)$)"), "blocks.$1.mlp.fc2.$2"},
      {std::regex(R"(^encoder\.ln\.(weight|bias)$)"), "norm.$1"},
      {std::regex(R"(^heads\.head\.(weight|bias)$)"), "head.$1"},
  };
  // Hugging Face ViT (vit.) and DeiT (deit.) models; q/k/v become "#q"/"#k"/"#v" parts of qkv.
  static const std::string hf = R"(^(?:vit\.|deit\.)?)";
  static const std::string hf_layer = hf + R"(encoder\.layer\.(\d+)\.)";
  static const std::vector<Rule> huggingface{
      {std::regex(hf + R"(embeddings\.patch_embeddings\.projection\.(weight|bias)$)"), "patch_embed.proj.$1"},
      {std::regex(hf + R"(embeddings\.cls_token$)"), "cls_token"},
      {std::regex(hf + R"(embeddings\.distillation_token$)"), "dist_token"},
      {std::regex(hf + R"(embeddings\.position_embeddings$)"), "pos_embed"},
      {std::regex(hf_layer + R"(layernorm_before\.(weight|bias)$)"), "blocks.$1.norm1.$2"},
      {std::regex(hf_layer + R"(attention\.attention\.query\.(weight|bias)$)"), "blocks.$1.attn.qkv.$2#q"},
      {std::regex(hf_layer + R"(attention\.attention\.key\.(weight|bias)$)"), "blocks.$1.attn.qkv.$2#k"},
      {std::regex(hf_layer + R"(attention\.attention\.value\.(weight|bias)$)"), "blocks.$1.attn.qkv.$2#v"},
      {std::regex(hf_layer + R"(attention\.output\.dense\.(weight|bias)$)"), "blocks.$1.attn.proj.$2"},
      {std::regex(hf_layer + R"(layernorm_after\.(weight|bias)$)"), "blocks.$1.norm2.$2"},
      {std::regex(hf_layer + R"(intermediate\.dense\.(weight|bias)$)"), "blocks.$1.mlp.fc1.$2"},
      {std::regex(hf_layer + R"(output\.dense\.(weight|bias)$)"), "blocks.$1.mlp.fc2.$2"},
      {std::regex(hf + R"(layernorm\.(weight|bias)$)"), "norm.$1"},
      {std::regex(R"(^(?:classifier|cls_classifier)\.(weight|bias)$)"), "head.$1"},
      {std::regex(R"(^distillation_classifier\.(weight|bias)$)"), "head_dist.$1"},
  };
  switch (f) {
    case Family::Timm: return timm;
    case Family::Torchvision: return torchvision;
    case Family::HuggingFace: return huggingface;
  }
  return timm;
}

std::string hint_for_unknown(const std::string& name) {
  if (name.find("fc_norm") != std::string::npos)
    return " (timm models with global average pooling are not supported: only class-token ViTs)";
  if (name.find("reg_token") != std::string::npos) return " (ViTs with register tokens are not supported)";
  if (name.find("pre_logits") != std::string::npos) return " (a pre-logits layer: not supported)";
  if (name.find("pooler") != std::string::npos) return " (a Hugging Face ViTModel pooler: use a ViTForImageClassification checkpoint)";
  return "";
}

}  // namespace

std::map<std::string, torch::Tensor> canonical_tensors(const std::map<std::string, torch::Tensor>& raw, Family family) {
  const auto& rules = rules_for(family);
  std::map<std::string, torch::Tensor> out;
  std::map<std::string, std::map<char, torch::Tensor>> qkv_parts;  // HF: "blocks.i.attn.qkv.weight" -> q, k, v
  std::vector<std::string> unknown;
  for (const auto& kv : raw) {
    std::string name = kv.first;
    if (name.rfind("module.", 0) == 0) name = name.substr(7);  // DistributedDataParallel prefix
    std::string mapped;
    for (const auto& r : rules) {
      std::smatch m;
      if (std::regex_match(name, m, r.from)) {
        mapped = m.format(r.to);
        break;
      }
    }
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
  if (!unknown.empty()) {
    std::string list;
    for (size_t i = 0; i < unknown.size() && i < 5; ++i) list += (i ? ", '" : "'") + unknown[i] + "'";
    if (unknown.size() > 5) list += " and " + std::to_string(unknown.size() - 5) + " more";
    throw ModelError(std::string("unexpected tensor") + (unknown.size() > 1 ? "s " : " ") + list + " in a " +
                     family_name(family) + "-style ViT checkpoint" + hint_for_unknown(unknown[0]));
  }
  for (auto& kv : qkv_parts) {
    for (char part : {'q', 'k', 'v'})
      if (!kv.second.count(part))
        throw ModelError(std::string("missing tensor: the ") + (part == 'q' ? "query" : part == 'k' ? "key" : "value") +
                         " part of '" + kv.first + "' (Hugging Face attention." + (part == 'q' ? "query" : part == 'k' ? "key" : "value") + ")");
    out[kv.first] = torch::cat({kv.second['q'], kv.second['k'], kv.second['v']}, 0);
  }
  return out;
}

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
  const int64_t n = tokens - c.num_prefix_tokens();
  const auto g = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(std::max<int64_t>(n, 0)))));
  if (n <= 0 || g * g != n)
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

LoadedViT load_vit(const std::string& path, const ModelHints& hints_in, int64_t heads_override) {
  RawCheckpoint raw = read_checkpoint(path);
  std::vector<std::string> names;
  for (const auto& kv : raw.tensors) names.push_back(kv.first);
  LoadedViT out;
  out.format = raw.format;
  out.wrapper_key = raw.wrapper_key;
  try {
    out.family = detect_family(names);
    auto tensors = canonical_tensors(raw.tensors, out.family);
    ModelHints hints = hints_in;
    if (heads_override > 0) hints.heads = heads_override;
    const ViTConfig cfg = infer_config(tensors, hints);
    torch::NoGradGuard no_grad;
    VisionTransformer model(cfg);
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
    }
    if (!missing.empty()) {
      std::string list;
      for (size_t i = 0; i < missing.size() && i < 5; ++i) list += (i ? ", '" : "'") + missing[i] + "'";
      if (missing.size() > 5) list += " and " + std::to_string(missing.size() - 5) + " more";
      throw ModelError("missing tensor" + std::string(missing.size() > 1 ? "s " : " ") + list + " (canonical timm names)");
    }
    for (const auto& kv : tensors)
      if (!used.count(kv.first)) throw ModelError("unexpected tensor '" + kv.first + "' for a " + cfg.describe());
    model->eval();
    out.model = model;
  } catch (const ModelError& e) {
    throw ModelError("'" + path + "': " + e.what());
  } catch (const c10::Error& e) {
    throw ModelError("'" + path + "': " + e.what_without_backtrace());
  }
  return out;
}

}  // namespace vit
