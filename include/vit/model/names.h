// The one table of model families (timm, torchvision, Hugging Face): a row per family with
// everything that differs between them: how it names each part of a ViT (the names that tell
// the families apart, and the mapping onto the canonical timm names the module registers),
// its evaluation preprocessing, and how it resamples position embeddings.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "vit/image/preprocess.h"
#include "vit/model/config.h"

namespace vit {

// A new family is one enumerator here and one row in family_facts (names.cpp): the compiler
// (-Wswitch-enum) names every switch that has no case for it.
enum class Family {
  Timm,
  Torchvision,
  HuggingFace,
  OpenClip,  // open_clip's CLIP (and OpenAI's original files): an image tower and a text tower
  HfClip,    // Hugging Face's CLIPModel: the same two towers under transformers' names
};

// One rule of a family's tensor names (see names.cpp for the pattern language).
struct NameRule {
  const char* from;
  const char* to;
};

// A family's row: every fact about it that the loader, the blueprint and the engine use.
struct FamilyFacts {
  const char* name;          // timm | torchvision | hf
  const char* patch_embed;   // its patch-embedding weight's name (identifies the family)
  const char* pos_embed;     // its position embeddings' name
  Preset preset;             // the preprocessing "--preset auto" falls back to (nothing published)
  PosResample pos_resample;  // how its library resamples position embeddings to another grid
  // A distillation token with only one head is a model of this family (Hugging Face's
  // DeiTForImageClassification has no distillation head); elsewhere DeiT needs both heads.
  bool dist_token_without_head;
  // The key Facebook's DeiT files wrap this family's state dict in ({"model": ...}), so that
  // such a file takes DeiT's preprocessing; nullptr: no DeiT files of this family (a torchvision
  // or Hugging Face checkpoint wrapped so by a training loop is not DeiT).
  const char* deit_wrapper_key;
  // CLIP: the checkpoint holds a text tower beside the image tower; the rules map its tensors
  // to "text.*" names (clip_text.h), which the image tower's loader hands over unread.
  bool two_towers;
  std::vector<NameRule> rules;  // its tensor names onto the canonical ones, first match wins
};

// The family's row; every family has one.
const FamilyFacts& family_facts(Family f);
// Every family, in the order detect_family tries them.
const std::vector<Family>& all_families();

inline const char* family_name(Family f) { return family_facts(f).name; }

// The family whose patch-embedding weight is among these names (a prefix such as a
// TorchScript wrapper's is allowed). Throws ModelError naming what was looked for.
Family detect_family(const std::vector<std::string>& names);

// Whether a tensor name (a prefix such as a TorchScript wrapper's allowed) is the family's
// patch-embedding weight (D, C, P, P) or its position embeddings (1, T, D).
bool is_patch_embed(Family f, const std::string& tensor_name);
bool is_pos_embed(Family f, const std::string& tensor_name);

// Whether the family's rules drop this tensor unread (buffers such as transformers' int64
// position_ids or OpenAI's size scalars): its dtype does not matter then.
bool is_dropped(Family f, const std::string& tensor_name);

// "'a', 'b', 'c' and 4 more": up to `most` names for an error message.
std::string quoted_names(const std::vector<std::string>& names, size_t most);

// Maps a checkpoint's tensors to the canonical (timm) names; HF's separate q/k/v are fused, a
// rule whose name ends in "^T" transposes its (2-D) tensor (CLIP's projections are stored
// (in, out)), and a 1-D class token (CLIP's class_embedding) becomes (1, 1, D).
// Throws ModelError naming unknown tensors.
std::map<std::string, torch::Tensor> canonical_tensors(const std::map<std::string, torch::Tensor>& raw, Family family);

}  // namespace vit
