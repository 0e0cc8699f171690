// The one table of tensor names: how timm, torchvision and Hugging Face name each part of a
// ViT, which names tell the families apart, and the mapping of every family onto the
// canonical (timm) names that the module registers.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace vit {

enum class Family { Timm, Torchvision, HuggingFace };

const char* family_name(Family f);  // timm | torchvision | hf

// The family whose patch-embedding weight is among these names (a prefix such as a
// TorchScript wrapper's is allowed). Throws ModelError naming what was looked for.
Family detect_family(const std::vector<std::string>& names);

// Whether a tensor name (a prefix such as a TorchScript wrapper's allowed) is the family's
// patch-embedding weight (D, C, P, P) or its position embeddings (1, T, D).
bool is_patch_embed(Family f, const std::string& tensor_name);
bool is_pos_embed(Family f, const std::string& tensor_name);

// "'a', 'b', 'c' and 4 more": up to `most` names for an error message.
std::string quoted_names(const std::vector<std::string>& names, size_t most);

// Maps a checkpoint's tensors to the canonical (timm) names; HF's separate q/k/v are fused.
// Throws ModelError naming unknown tensors.
std::map<std::string, torch::Tensor> canonical_tensors(const std::map<std::string, torch::Tensor>& raw, Family family);

}  // namespace vit
