// The ViT blueprint and the standard sizes; see include/vit/model/config.h.
#include "vit/model/config.h"

#include <cmath>
#include <sstream>

namespace vit {

namespace {

// The sizes of Dosovitskiy et al. and DeiT, as timm names them.
struct StandardSize {
  const char* timm_name;  // as it appears in timm architectures: vit_<name>_patch16_224
  int64_t dim, heads;
};
constexpr StandardSize kSizes[] = {
    {"tiny", 192, 3}, {"small", 384, 6}, {"base", 768, 12}, {"large", 1024, 16}, {"huge", 1280, 16},
};

}  // namespace

std::string ViTConfig::describe() const {
  std::ostringstream o;
  o << (distilled ? "DeiT-distilled " : "") << "ViT D=" << dim << " depth=" << depth << " heads=" << heads
    << " mlp=" << mlp_dim << " patch=" << patch_size << " image=" << image_size << " classes=" << num_classes
    << " eps=" << eps;
  return o.str();
}

int64_t default_heads_for_dim(int64_t dim) {
  for (const auto& s : kSizes)
    if (s.dim == dim) return s.heads;
  return 0;
}

int64_t default_heads_for_timm_name(const std::string& architecture) {
  for (const auto& s : kSizes)
    if (architecture.find(std::string("_") + s.timm_name + "_") != std::string::npos) return s.heads;
  return 0;
}

int64_t grid_side(int64_t tokens, int64_t prefix) {
  const int64_t n = tokens - prefix;
  if (n <= 0) return 0;
  const auto g = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(n))));
  return g * g == n ? g : 0;
}

}  // namespace vit
