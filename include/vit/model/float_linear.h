// The fp32 and bf16 kernels of the linear layers, on oneDNN (see reduced_precision.h for what
// each precision computes).
#pragma once

#include <torch/torch.h>

#include <memory>

#include "vit/model/linear.h"

namespace vit {

// One layer's kernel from its float32 weight (out, in) and bias (out, or undefined).
std::shared_ptr<const LinearKernel> make_fp32_kernel(const torch::Tensor& weight, const torch::Tensor& bias);
// oneDNN's bf16 matmul, or the same arithmetic through LibTorch where it has none for the CPU.
std::shared_ptr<const LinearKernel> make_bf16_kernel(const torch::Tensor& weight, const torch::Tensor& bias);

}  // namespace vit
