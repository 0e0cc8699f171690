// Facts of timm architecture names; see include/vit/model/architecture.h.
#include "vit/model/architecture.h"

#include <cctype>
#include <utility>

namespace vit {

namespace {

// timm's size names, as they appear in architectures (vit_<size>_patch16_224), and their heads.
struct SizeName {
  const char* name;
  int64_t heads;
};
constexpr SizeName kSizes[] = {
    {"tiny", 3},    {"small", 6},     {"medium", 8},  {"mediumd", 8}, {"base", 12},    {"large", 16},   {"huge", 16},
    {"giant", 16},  {"gigantic", 16}, {"so400m", 16}, {"so150m", 14}, {"so150m2", 13}, {"betwixt", 10}, {"little", 5},
    {"dlittle", 5}, {"wee", 4},       {"dwee", 4},    {"pwee", 4},    {"dpwee", 4},
};

bool is_word(const std::string& s, size_t begin, size_t end) {
  if (begin >= end) return false;
  for (size_t i = begin; i < end; ++i)
    if (!std::islower(static_cast<unsigned char>(s[i])) && !std::isdigit(static_cast<unsigned char>(s[i])))
      return false;
  return true;
}

// "base" in "vit_base_patch16_224" (both words [a-z0-9]+), else "". Parsed by hand: the name
// comes from an untrusted config.json (std::regex recursed per character of a 50 KB one).
std::string size_word(const std::string& architecture) {
  const size_t first = architecture.find('_');
  if (first == std::string::npos || !is_word(architecture, 0, first)) return "";
  size_t second = architecture.find('_', first + 1);
  if (second == std::string::npos) second = architecture.size();
  return is_word(architecture, first + 1, second) ? architecture.substr(first + 1, second - first - 1) : "";
}

}  // namespace

ArchitectureFacts timm_architecture_facts(const std::string& architecture) {
  ArchitectureFacts f;
  // XCiT: heads are read from attn.temperature; tokens_norm is what timm's xcit_<size>_* pass.
  if (architecture.rfind("xcit_", 0) == 0) {
    f.xcit_tokens_norm = architecture.rfind("xcit_nano_", 0) != 0;
    return f;
  }
  // vit_<size>_..., deit_<size>_..., deit3_<size>_..., beit3_<size>_..., eva_<size>_...,
  // flexivit_<size>: the second of the name's '_'-separated words.
  const std::string size = size_word(architecture);
  for (const auto& s : kSizes)
    if (size == s.name) f.heads = s.heads;
  // OpenAI/LAION CLIP towers and BEiT-3 use LayerNorm eps 1e-5; timm's default is 1e-6.
  if (architecture.find("_clip_") != std::string::npos || architecture.rfind("beit3_", 0) == 0) f.eps = 1e-5;
  if (architecture.find("_quickgelu") != std::string::npos) f.act = Activation::QuickGelu;
  if (architecture.find("_rpn_") != std::string::npos) f.block = BlockKind::PostNorm;  // ResPostBlock
  return f;
}

int64_t default_heads_for_dim(int64_t dim) {
  // Every width of timm's ViT sizes, with its heads.
  static const std::pair<int64_t, int64_t> widths[] = {
      {192, 3},  {256, 4},  {320, 5},   {384, 6},   {512, 8},   {640, 10},  {768, 12},
      {832, 13}, {896, 14}, {1024, 16}, {1152, 16}, {1280, 16}, {1408, 16}, {1664, 16},
  };
  for (const auto& [width, heads] : widths)
    if (dim == width) return heads;
  return 0;
}

}  // namespace vit
