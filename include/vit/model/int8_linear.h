// The int8 kernel of the linear layers, on oneDNN with the row loops of int8_rows.h (see
// reduced_precision.h for what it computes).
#pragma once

#include <torch/torch.h>

#include <memory>

#include "vit/model/linear.h"

namespace vit {

// One layer's kernel from its float32 weight (out, in) and bias (out, or undefined).
// weight_bits: 8 or 7; 0 chooses by the CPU (8 with VNNI, else 7). 8 without VNNI throws ModelError:
// the CPU's int16 pair sums would saturate.
std::shared_ptr<const LinearKernel> make_int8_kernel(const torch::Tensor& weight, const torch::Tensor& bias,
                                                     int weight_bits = 0);

}  // namespace vit
