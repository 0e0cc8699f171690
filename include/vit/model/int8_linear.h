// The int8 kernel of the linear layers, on oneDNN with the row loops of int8_rows.h (see
// reduced_precision.h for what it computes).
#pragma once

#include <torch/torch.h>

#include <memory>

#include "vit/model/linear.h"

namespace vit {

// The widths of an int8 layer's weights (symmetric, [-127, 127] or [-63, 63]) and inputs
// (u8 per row, [0, 255] or [0, 127]). 8 and 8 only with VNNI: without it oneDNN sums pairs of
// u8 x s8 products in int16 (vpmaddubsw), which saturates unless one side has 7 bits.
struct Int8Bits {
  int weight = 0, input = 0;  // both 0: int8_bits_for_cpu()
};

// 8-bit weights and inputs with VNNI; without it 8-bit weights and 7-bit inputs, which kept
// fp32's top-1 more often than 7-bit weights with 8-bit inputs (docs/performance.md).
Int8Bits int8_bits_for_cpu();

// One layer's kernel from its float32 weight (out, in) and bias (out, or undefined). Widths not 7
// or 8, or both 8 without VNNI, throw ModelError.
std::shared_ptr<const LinearKernel> make_int8_kernel(const torch::Tensor& weight, const torch::Tensor& bias,
                                                     Int8Bits bits = {});

}  // namespace vit
