// The per-row halves of the int8 linear layer (reduced_precision.cpp) around oneDNN's
// u8 x s8 -> s32 product: quantizing each row of the input with its own scale and zero point,
// and turning the int32 sums back into float32 with the bias added. Plain loops, compiled for
// AVX-512, AVX2 and baseline x86-64 and chosen by the CPU at run time (GCC target_clones).
// Each call handles rows [begin, end), so the caller can share rows among threads.
#pragma once

#include <cstdint>

namespace vit {

// q[m][k] = clamp(round(x[m][k] / scale[m]) + zp[m], 0, levels), each row's range [lo, hi]
// widened to hold 0 (0 stays exact), scale = (hi - lo) / levels, zp = round(-lo / scale);
// levels is 255 (8-bit inputs) or 127 (7-bit: [0, 127], for CPUs whose int16 pair sums of
// u8 x s8 products would otherwise saturate with 8-bit weights, see int8_linear.h).
// Writes scale[m] and zs[m] = scale[m] * zp[m]. A row holding NaN or infinity gets scale and
// zs NaN (so its outputs are NaN) and q zero; returns false if any row did.
bool quantize_rows_u8(const float* x, int64_t cols, int64_t begin, int64_t end, int levels, uint8_t* q, float* scale,
                      float* zs);

// out[m][n] = scale[m] * w_scale[n] * acc[m][n] - zs[m] * w_sum[n] + bias[n], where w_sum[n] =
// w_scale[n] * (sum over k of the int8 weights of output n): the product of the dequantized
// input and weights. bias may be null.
void dequantize_rows(const int32_t* acc, int64_t cols, int64_t begin, int64_t end, const float* scale, const float* zs,
                     const float* w_scale, const float* w_sum, const float* bias, float* out);

}  // namespace vit
