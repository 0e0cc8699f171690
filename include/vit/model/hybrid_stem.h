// The ResNet-v2 stem of timm's hybrid ViTs (vision_transformer_hybrid.py: R+ViT-Ti/S16,
// R26+ViT-S/32, R50+ViT-B/16, R50+ViT-L/32): weight-standardised convolutions with TF "SAME"
// padding, GroupNorm, bottleneck stages; its feature map is what the patch embedding's
// projection cuts into tokens. Registered under timm's names ("patch_embed.backbone.stem.conv",
// "...stages.0.blocks.0.conv1", or "...backbone.conv" for the stem-only tiny model).
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace vit {

// The stem's shape, read from the checkpoint's tensors.
struct HybridStem {
  bool stem_only = false;            // R+ViT-Ti: conv, norm, pool and no stages ("backbone.conv")
  int64_t stem_width = 64;           // channels out of the 7x7 stem conv
  std::vector<int64_t> stage_depth;  // bottleneck blocks per stage (R50: 3, 4, 9)
  std::vector<int64_t> stage_width;  // each stage's output channels (256, 512, 1024, ...)
  int64_t out_channels() const { return stage_width.empty() ? stem_width : stage_width.back(); }
  // Pixels per feature-map cell: 4 from the stem, then x2 for every stage after the first.
  int64_t stride() const { return stage_depth.empty() ? 4 : 4 << (stage_depth.size() - 1); }
};

// The stem of a checkpoint whose canonical tensors hold "patch_embed.backbone.*", or nothing
// (stage_depth empty and stem_only false) when they do not. Throws ModelError naming a tensor
// whose shape does not fit, or a backbone that is not timm's ResNet-v2 stem.
bool read_hybrid_stem(const std::map<std::string, torch::Tensor>& tensors, int64_t in_chans, HybridStem& out);

// Every stem parameter's shape under its canonical name.
void hybrid_stem_shapes(const HybridStem& stem, int64_t in_chans, std::map<std::string, std::vector<int64_t>>& s);

// A convolution with weight standardisation (timm StdConv2dSame, eps 1e-8): the weights are
// normalised per output channel on every call, as timm does, and inputs padded "SAME" as
// TensorFlow does when the stride makes that asymmetric.
class StdConvImpl : public torch::nn::Module {
 public:
  StdConvImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t kernel, stride;
  torch::Tensor weight;  // (out, in, k, k), no bias
};
TORCH_MODULE(StdConv);

// GroupNorm (32 groups, eps 1e-5) and an optional ReLU (timm GroupNormAct).
class GroupNormActImpl : public torch::nn::Module {
 public:
  GroupNormActImpl(int64_t channels, bool relu);
  torch::Tensor forward(const torch::Tensor& x);
  bool relu;
  torch::Tensor weight, bias;
};
TORCH_MODULE(GroupNormAct);

// conv then GroupNormAct: the stem ("conv", "norm") and a projected shortcut ("downsample").
class ConvNormImpl : public torch::nn::Module {
 public:
  ConvNormImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, bool relu);
  torch::Tensor forward(const torch::Tensor& x) { return norm(conv(x)); }
  StdConv conv{nullptr};
  GroupNormAct norm{nullptr};
};
TORCH_MODULE(ConvNorm);

// timm's resnetv2 Bottleneck without pre-activation: 1x1, 3x3 (the stride), 1x1, each
// GroupNorm'd; a projected shortcut on a stage's first block; ReLU after the sum.
class BottleneckImpl : public torch::nn::Module {
 public:
  BottleneckImpl(int64_t in, int64_t out, int64_t stride, bool project);
  torch::Tensor forward(const torch::Tensor& x);
  ConvNorm downsample{nullptr};
  StdConv conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  GroupNormAct norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
};
TORCH_MODULE(Bottleneck);

// The whole stem: images (B, C, H, W) -> features (B, out_channels, H/stride, W/stride):
// conv 7x7/2, GroupNorm + ReLU, max pool 3x3/2 ("SAME"), then the stages (each a "blocks" list;
// stage 0 at stride 1, the others halving the map).
class HybridBackboneImpl : public torch::nn::Module {
 public:
  HybridBackboneImpl(const HybridStem& stem, int64_t in_chans);
  torch::Tensor forward(const torch::Tensor& x);
  ConvNorm stem{nullptr};                 // "stem.conv", "stem.norm"
  StdConv conv{nullptr};                  // the stem-only model's "conv" ...
  GroupNormAct norm{nullptr};             // ... and "norm", on the backbone itself
  torch::nn::ModuleList stages{nullptr};  // "stages.i.blocks.j"
  std::vector<std::vector<Bottleneck>> stage_blocks;
};
TORCH_MODULE(HybridBackbone);

}  // namespace vit
