// From a weights file on disk to a ready VisionTransformer: detects the file format
// (safetensors, torch.save zip, TorchScript), the naming family (timm, torchvision,
// Hugging Face), maps every tensor to the canonical (timm) names the module uses, infers the
// configuration from shapes plus config.json beside the file, and copies the weights in.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vit/config.h"
#include "vit/labels.h"
#include "vit/model.h"
#include "vit/preprocess.h"

namespace vit {

enum class FileFormat { Safetensors, TorchZip, TorchScript };
enum class Family { Timm, Torchvision, HuggingFace };

const char* format_name(FileFormat f);
const char* family_name(Family f);

// Looks at the first bytes (and, for zip files, the entries). Throws ModelError.
FileFormat detect_format(const std::string& path);

// Tensors as stored, under their names in the file. Safetensors tensors alias the mapping,
// which `keepalive` holds open.
struct RawCheckpoint {
  FileFormat format = FileFormat::Safetensors;
  std::map<std::string, torch::Tensor> tensors;
  std::shared_ptr<const void> keepalive;
  // Called with each tensor once its values were copied; frees what it can (mapped pages).
  std::function<void(const torch::Tensor&)> release;
  std::string wrapper_key;  // torch.save dict that wrapped the state dict ("model" for DeiT)
};
RawCheckpoint read_checkpoint(const std::string& path);

// What a config.json / preprocessor_config.json beside the weights says.
struct ModelHints {
  int64_t heads = 0;                          // 0 = unknown
  std::optional<double> eps;
  std::optional<Labels> labels;
  std::optional<PreprocessConfig> preprocess;  // the preprocessing the authors published
  std::vector<std::string> sources;            // files read, for logs
};
// Reads <dir of weights>/config.json and preprocessor_config.json where present.
// image_size is used to build the preprocessing from timm's pretrained_cfg.
ModelHints read_model_hints(const std::string& weights_path);

Family detect_family(const std::vector<std::string>& names);
// Maps a checkpoint's tensors to the canonical (timm) names; HF's separate q/k/v are fused.
// Throws ModelError naming unknown tensors.
std::map<std::string, torch::Tensor> canonical_tensors(const std::map<std::string, torch::Tensor>& raw, Family family);
// The configuration implied by canonical tensor shapes (heads from hints, else by width).
ViTConfig infer_config(const std::map<std::string, torch::Tensor>& canonical, const ModelHints& hints);

struct LoadedViT {
  VisionTransformer model{nullptr};
  Family family = Family::Timm;
  FileFormat format = FileFormat::Safetensors;
  std::string wrapper_key;
};
// Reads, maps, checks every tensor's presence and shape, and builds the module (float32, CPU,
// eval mode). heads_override > 0 wins over hints. Throws ModelError.
LoadedViT load_vit(const std::string& path, const ModelHints& hints, int64_t heads_override = 0);

}  // namespace vit
