// A CLIP checkpoint's two towers; see include/vit/model/clip_model.h.
#include "vit/model/clip_model.h"

#include "vit/errors.h"

namespace vit {

namespace {
constexpr double kClipEps = 1e-5;   // torch.nn.LayerNorm's default, which open_clip uses
constexpr int64_t kHeadWidth = 64;  // open_clip's default head width (heads = width / 64)
}  // namespace

void prepare_clip(std::map<std::string, torch::Tensor>& tensors, std::map<std::string, torch::Tensor>& text,
                  ModelHints& hints) {
  const ClipHints clip = hints.clip ? *hints.clip : ClipHints{};
  if (!clip.unsupported.empty())
    throw ModelError("'" + clip.path + "' asks for " + clip.unsupported.front() +
                     ", which this tool does not run (CLIP models with open_clip's own ViT image and text towers "
                     "are supported)");
  for (auto it = tensors.begin(); it != tensors.end();) {
    if (it->first.rfind("text.", 0) == 0) {
      text[it->first] = it->second;
      it = tensors.erase(it);
    } else {
      ++it;
    }
  }
  const auto head = tensors.find("head.weight");
  if (head == tensors.end())
    throw ModelError("missing tensor 'visual.proj': a CLIP image tower without its projection");
  tensors["head.bias"] = torch::zeros({head->second.size(0)}, head->second.options());
  const auto patch = tensors.find("patch_embed.proj.weight");
  const int64_t width = patch == tensors.end() ? 0 : patch->second.size(0);
  hints.heads = clip.vision_heads > 0 ? clip.vision_heads : width / kHeadWidth;
  hints.eps = kClipEps;
  hints.act = clip.quick_gelu ? Activation::QuickGelu : Activation::Gelu;
  hints.pool = clip.vision_avg_pool ? Pool::Avg : Pool::Token;
  if (clip.vision_avg_pool && clip.final_ln_after_pool) {  // ln_post on the pooled vector: timm's fc_norm
    for (const char* p : {"weight", "bias"}) {
      const auto n = tensors.find(std::string("norm.") + p);
      if (n == tensors.end()) continue;
      tensors[std::string("fc_norm.") + p] = n->second;
      tensors.erase(n);
    }
  }
  if (clip.image_size > 0) hints.input_size = clip.image_size;
}

TextTower build_clip_text_tower(std::map<std::string, torch::Tensor>& text, const ModelHints& hints) {
  const ClipHints clip = hints.clip ? *hints.clip : ClipHints{};
  return load_text_tower(text, clip.text_heads, clip.quick_gelu ? Activation::QuickGelu : Activation::Gelu, kClipEps);
}

}  // namespace vit
