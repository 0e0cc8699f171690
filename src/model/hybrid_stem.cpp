// The hybrid ViTs' ResNet-v2 stem; see include/vit/model/hybrid_stem.h.
#include "vit/model/hybrid_stem.h"

#include <algorithm>
#include <limits>

#include "vit/errors.h"

namespace vit {

namespace {

using Tensors = std::map<std::string, torch::Tensor>;

constexpr int64_t kGroups = 32;  // timm GroupNormAct(num_groups=32)
constexpr int64_t kMaxStages = 4;
constexpr int64_t kMaxBlocks = 64;

// TF "SAME" padding for one side of length n: the total, split low = total / 2.
int64_t same_padding(int64_t n, int64_t kernel, int64_t stride) {
  return std::max<int64_t>(((n + stride - 1) / stride - 1) * stride + kernel - n, 0);
}

torch::Tensor pad_same(const torch::Tensor& x, int64_t kernel, int64_t stride, double value) {
  const int64_t ph = same_padding(x.size(-2), kernel, stride), pw = same_padding(x.size(-1), kernel, stride);
  if (ph == 0 && pw == 0) return x;
  return torch::constant_pad_nd(x, {pw / 2, pw - pw / 2, ph / 2, ph - ph / 2}, value);
}

const torch::Tensor& need4(const Tensors& t, const std::string& name, int64_t out, int64_t in, int64_t k) {
  const auto it = t.find(name);
  if (it == t.end()) throw ModelError("missing tensor '" + name + "' (the hybrid ViT's ResNet stem)");
  const auto& w = it->second;
  if (w.dim() != 4 || (out > 0 && w.size(0) != out) || (in > 0 && w.size(1) != in) || w.size(2) != k || w.size(3) != k)
    throw ModelError("tensor '" + name + "' has shape " + c10::str(w.sizes()) + ", expected (" +
                     (out > 0 ? std::to_string(out) : std::string("C")) + ", " +
                     (in > 0 ? std::to_string(in) : std::string("C")) + ", " + std::to_string(k) + ", " +
                     std::to_string(k) + ")");
  if (w.size(0) % kGroups != 0)
    throw ModelError("tensor '" + name + "' has " + std::to_string(w.size(0)) +
                     " output channels: not a multiple of GroupNorm's 32 groups");
  return w;
}

}  // namespace

bool read_hybrid_stem(const Tensors& t, int64_t in_chans, HybridStem& out) {
  const std::string root = "patch_embed.backbone.";
  const bool any = std::any_of(t.begin(), t.end(), [&](const auto& kv) { return kv.first.rfind(root, 0) == 0; });
  if (!any) return false;
  out = HybridStem{};
  out.stem_only = t.count(root + "conv.weight") > 0;
  const std::string stem = out.stem_only ? root : root + "stem.";
  out.stem_width = need4(t, stem + "conv.weight", 0, in_chans, 7).size(0);
  int64_t width = out.stem_width;
  for (int64_t s = 0; !out.stem_only && s <= kMaxStages; ++s) {
    const std::string stage = root + "stages." + std::to_string(s) + ".blocks.";
    int64_t depth = 0;
    while (depth <= kMaxBlocks && t.count(stage + std::to_string(depth) + ".conv1.weight")) ++depth;
    if (depth == 0) break;
    if (s == kMaxStages || depth > kMaxBlocks)
      throw ModelError("the hybrid ViT's ResNet stem has over " +
                       std::to_string(s == kMaxStages ? kMaxStages : kMaxBlocks) +
                       (s == kMaxStages ? " stages" : " blocks in a stage") + " ('" + stage + "...')");
    const int64_t stage_out = need4(t, stage + "0.downsample.conv.weight", 0, width, 1).size(0);
    if (stage_out % 4 != 0) throw ModelError("tensor '" + stage + "0.downsample.conv.weight' is not 4 x a bottleneck");
    out.stage_depth.push_back(depth);
    out.stage_width.push_back(stage_out);
    width = stage_out;
  }
  if (!out.stem_only && out.stage_depth.empty())
    throw ModelError("tensor '" + root + "stem.conv.weight' without '" + root +
                     "stages.0.blocks.0.conv1.weight': a ResNet stem with no stages");
  return true;
}

void hybrid_stem_shapes(const HybridStem& stem, int64_t in_chans, std::map<std::string, std::vector<int64_t>>& s) {
  const std::string root = "patch_embed.backbone.";
  const auto conv_norm = [&](const std::string& at, int64_t out, int64_t in, int64_t k) {
    s[at + "conv.weight"] = {out, in, k, k};
    s[at + "norm.weight"] = s[at + "norm.bias"] = {out};
  };
  conv_norm(stem.stem_only ? root : root + "stem.", stem.stem_width, in_chans, 7);
  int64_t in = stem.stem_width;
  for (size_t i = 0; i < stem.stage_depth.size(); ++i) {
    const int64_t out = stem.stage_width[i], mid = out / 4;
    for (int64_t b = 0; b < stem.stage_depth[i]; ++b) {
      const std::string at = root + "stages." + std::to_string(i) + ".blocks." + std::to_string(b) + ".";
      if (b == 0) conv_norm(at + "downsample.", out, in, 1);
      for (const auto& [n, o, c, k] : {std::tuple{"1", mid, b == 0 ? in : out, int64_t{1}},
                                       {"2", mid, mid, int64_t{3}},
                                       {"3", out, mid, int64_t{1}}}) {
        s[at + "conv" + n + ".weight"] = {o, c, k, k};
        s[at + "norm" + n + ".weight"] = s[at + "norm" + n + ".bias"] = {o};
      }
    }
    in = out;
  }
}

StdConvImpl::StdConvImpl(int64_t in, int64_t out, int64_t kernel_, int64_t stride_) : kernel(kernel_), stride(stride_) {
  weight = register_parameter("weight", torch::zeros({out, in, kernel, kernel}));
}

torch::Tensor StdConvImpl::forward(const torch::Tensor& x) {
  // timm: F.batch_norm(w.reshape(1, out, -1), None, None, training=True, momentum=0, eps=1e-8):
  // each output channel's weights minus their mean, over sqrt(biased variance + eps).
  const auto w = torch::batch_norm(weight.reshape({1, weight.size(0), -1}), {}, {}, {}, {}, true, 0.0, 1e-8, false)
                     .reshape_as(weight);
  // Odd kernels at stride 1 pad symmetrically (timm pads those statically); the rest "SAME".
  if (stride == 1) return torch::conv2d(x, w, {}, 1, (kernel - 1) / 2);
  return torch::conv2d(pad_same(x, kernel, stride, 0.0), w, {}, stride);
}

GroupNormActImpl::GroupNormActImpl(int64_t channels, bool relu_) : relu(relu_) {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
}

torch::Tensor GroupNormActImpl::forward(const torch::Tensor& x) {
  auto y = torch::group_norm(x, kGroups, weight, bias, 1e-5);
  return relu ? y.relu_() : y;
}

ConvNormImpl::ConvNormImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, bool relu) {
  conv = register_module("conv", StdConv(in, out, kernel, stride));
  norm = register_module("norm", GroupNormAct(out, relu));
}

BottleneckImpl::BottleneckImpl(int64_t in, int64_t out, int64_t stride, bool project) {
  const int64_t mid = out / 4;
  if (project) downsample = register_module("downsample", ConvNorm(in, out, 1, stride, false));
  conv1 = register_module("conv1", StdConv(in, mid, 1, 1));
  norm1 = register_module("norm1", GroupNormAct(mid, true));
  conv2 = register_module("conv2", StdConv(mid, mid, 3, stride));
  norm2 = register_module("norm2", GroupNormAct(mid, true));
  conv3 = register_module("conv3", StdConv(mid, out, 1, 1));
  norm3 = register_module("norm3", GroupNormAct(out, false));
}

torch::Tensor BottleneckImpl::forward(const torch::Tensor& x) {
  const auto shortcut = downsample ? downsample(x) : x;
  auto y = norm3(conv3(norm2(conv2(norm1(conv1(x))))));
  return y.add_(shortcut).relu_();
}

HybridBackboneImpl::HybridBackboneImpl(const HybridStem& cfg, int64_t in_chans) {
  if (cfg.stem_only) {  // timm registers the stem-only model's conv and norm on the backbone itself
    conv = register_module("conv", StdConv(in_chans, cfg.stem_width, 7, 2));
    norm = register_module("norm", GroupNormAct(cfg.stem_width, true));
    return;
  }
  stem = register_module("stem", ConvNorm(in_chans, cfg.stem_width, 7, 2, true));
  stages = register_module("stages", torch::nn::ModuleList());
  int64_t in = cfg.stem_width;
  for (size_t i = 0; i < cfg.stage_depth.size(); ++i) {
    auto blocks = torch::nn::ModuleList();
    stage_blocks.emplace_back();
    for (int64_t b = 0; b < cfg.stage_depth[i]; ++b) {
      const int64_t stride = b == 0 && i > 0 ? 2 : 1;
      stage_blocks.back().push_back(Bottleneck(b == 0 ? in : cfg.stage_width[i], cfg.stage_width[i], stride, b == 0));
      blocks->push_back(stage_blocks.back().back());
    }
    auto stage = std::make_shared<torch::nn::Module>();
    stage->register_module("blocks", blocks);
    stages->push_back(stage);
    in = cfg.stage_width[i];
  }
}

torch::Tensor HybridBackboneImpl::forward(const torch::Tensor& x) {
  auto y = stem ? stem(x) : norm(conv(x));
  // timm MaxPool2dSame: pad "SAME" with -inf, then a 3x3 max pool at stride 2.
  y = torch::max_pool2d(pad_same(y, 3, 2, -std::numeric_limits<double>::infinity()), 3, 2);
  for (auto& stage : stage_blocks)
    for (auto& block : stage) y = block(y);
  return y;
}

}  // namespace vit
