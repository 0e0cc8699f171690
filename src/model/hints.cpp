// config.json and preprocessor_config.json; see include/vit/model/hints.h.
#include "vit/model/hints.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "vit/errors.h"
#include "vit/io/files.h"
#include "vit/model/config.h"

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

// timm's pretrained_cfg: input_size, crop_pct, crop_mode, interpolation, mean, std.
PreprocessConfig timm_pretrained_cfg(const json& p, const std::string& path) {
  const int side = p.contains("input_size") ? int_in(p["input_size"].at(2), 1, kMaxSide, "input_size", path) : 224;
  PreprocessConfig pc = preset_config(Preset::Timm, side);
  pc.preset = "timm (from config.json)";
  if (p.contains("crop_pct"))
    pc.resize_short = static_cast<int>(std::floor(side / number_in(p["crop_pct"], 0.01, 4.0, "crop_pct", path)));
  if (p.contains("interpolation")) {
    try {
      pc.interpolation = parse_interpolation(p["interpolation"].get<std::string>());
    } catch (const UsageError& e) {
      throw ModelError("'" + path + "': pretrained_cfg " + e.what());
    }
  }
  if (p.contains("mean")) pc.mean = three_floats(p["mean"], "pretrained_cfg.mean", path, false);
  if (p.contains("std")) pc.std = three_floats(p["std"], "pretrained_cfg.std", path, true);
  if (p.value("crop_mode", "center") == "squash") {
    pc.resize_short = 0;
    pc.resize_width = pc.resize_height = side;
    pc.crop = 0;
  }
  return pc;
}

// timm's hub config.json: the architecture name, label_names, pretrained_cfg.
void read_timm_config(const json& c, const std::string& path, ModelHints& h) {
  if (h.heads == 0) h.heads = default_heads_for_timm_name(c["architecture"].get<std::string>());
  if (c.contains("label_names") && c["label_names"].is_array() && !c["label_names"].empty() &&
      !looks_like_wnid(c["label_names"][0].get<std::string>())) {
    std::vector<Label> labels;
    for (const auto& n : c["label_names"]) labels.push_back({"", n.get<std::string>()});
    h.labels = Labels(labels);
  }
  if (c.contains("pretrained_cfg") && c["pretrained_cfg"].is_object())
    h.preprocess = timm_pretrained_cfg(c["pretrained_cfg"], path);
}

void read_config(const json& c, const std::string& path, ModelHints& h) {
  if (c.contains("num_attention_heads"))
    h.heads = int_in(c["num_attention_heads"], 1, 4096, "num_attention_heads", path);
  if (c.contains("num_heads")) h.heads = int_in(c["num_heads"], 1, 4096, "num_heads", path);
  if (c.contains("layer_norm_eps")) h.eps = number_in(c["layer_norm_eps"], 0, 1, "layer_norm_eps", path);
  if (c.contains("hidden_act") && c["hidden_act"] != "gelu")
    throw ModelError("'" + path + "': hidden_act " + c["hidden_act"].dump() + " is not supported (only exact gelu)");
  if (c.contains("id2label") && c["id2label"].is_object()) h.labels = id2label(c["id2label"], path);
  if (c.contains("architecture") && c["architecture"].is_string()) read_timm_config(c, path, h);
}

// Hugging Face's image processor: size, crop, resample, normalisation.
PreprocessConfig read_preprocessor_config(const json& p, const std::string& path) {
  PreprocessConfig pc = preset_config(Preset::Hf, 224);
  pc.preset = "hf (from preprocessor_config.json)";
  if (p.contains("size")) {
    const auto& s = p["size"];
    if (s.is_number()) {
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
    }
  } catch (const json::exception& e) {
    throw ModelError("config beside '" + weights_path + "' has an unexpected field type: " + e.what());
  }
  return h;
}

}  // namespace vit
