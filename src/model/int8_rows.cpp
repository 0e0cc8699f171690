// Per-row int8 quantization and dequantization; see include/vit/model/int8_rows.h.
#include "vit/model/int8_rows.h"

#include <cmath>
#include <cstring>

// Three copies of each function, the best one for the CPU picked when the program starts
// (one copy under ThreadSanitizer, whose runtime is not up when the choice is made).
#ifdef VIT_NO_TARGET_CLONES
#define VIT_ROW_KERNEL
#else
#define VIT_ROW_KERNEL __attribute__((target_clones("avx512f", "avx2", "default")))
#endif

namespace vit {

namespace {

// 8 floats as one value (GCC's vector extension): a ymm register under AVX2 and AVX-512 (a
// 64-byte type is left scalar in the AVX2 copy). The min/max loop written on arrays of 16 lanes
// was left scalar by the compiler (3.8% of an int8 ViT-B run in perf); on this type it is not.
typedef float Lanes __attribute__((vector_size(32)));
constexpr int64_t kLanes = sizeof(Lanes) / sizeof(float);

VIT_ROW_KERNEL void row_range(const float* x, int64_t cols, float* lo_out, float* hi_out) {
  // The comparisons skip a NaN: v * 0 summed per lane finds it (and infinities, inf * 0 = NaN).
  Lanes lo = {}, hi = {}, check = {};
  int64_t k = 0;
  for (; k + kLanes <= cols; k += kLanes) {
    Lanes v;
    std::memcpy(&v, x + k, sizeof v);
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    check += v * 0.0f;
  }
  float l = 0.0f, h = 0.0f, c = 0.0f;
  for (; k < cols; ++k) {
    l = x[k] < l ? x[k] : l;
    h = x[k] > h ? x[k] : h;
    c += x[k] * 0.0f;
  }
  for (int64_t j = 0; j < kLanes; ++j) {
    l = lo[j] < l ? lo[j] : l;
    h = hi[j] > h ? hi[j] : h;
    c += check[j];
  }
  *lo_out = c == 0.0f ? l : NAN;
  *hi_out = h;
}

VIT_ROW_KERNEL void quantize_row(const float* x, int64_t cols, float inv, float zp, float top, uint8_t* q) {
  for (int64_t k = 0; k < cols; ++k) {
    float v = x[k] * inv + (zp + 0.5f);  // >= 0 up to rounding, so truncation rounds half up
    v = v < 0.0f ? 0.0f : v;
    v = v > top ? top : v;
    q[k] = static_cast<uint8_t>(static_cast<int32_t>(v));
  }
}

VIT_ROW_KERNEL void dequantize_row(const int32_t* acc, int64_t cols, float scale, float zs, const float* w_scale,
                                   const float* w_sum, const float* bias, float* out) {
  if (bias) {
    for (int64_t n = 0; n < cols; ++n)
      out[n] = scale * w_scale[n] * static_cast<float>(acc[n]) - zs * w_sum[n] + bias[n];
  } else {
    for (int64_t n = 0; n < cols; ++n) out[n] = scale * w_scale[n] * static_cast<float>(acc[n]) - zs * w_sum[n];
  }
}

}  // namespace

bool quantize_rows_u8(const float* x, int64_t cols, int64_t begin, int64_t end, int levels, uint8_t* q, float* scale,
                      float* zs) {
  const float top = static_cast<float>(levels);
  bool finite = true;
  for (int64_t m = begin; m < end; ++m) {
    const float* row = x + m * cols;
    float lo = 0, hi = 0;
    row_range(row, cols, &lo, &hi);
    if (!std::isfinite(lo) || !std::isfinite(hi)) {
      // NaN scales make the row's outputs NaN, as float32 arithmetic would: that image gets a
      // failed record (non-finite scores) and the batch's other rows are untouched.
      finite = false;
      scale[m] = zs[m] = NAN;
      std::memset(q + m * cols, 0, static_cast<size_t>(cols));
      continue;
    }
    const float s = hi > lo ? (hi - lo) / top : 1.0f;
    const float zp = std::nearbyint(std::fmin(std::fmax(-lo / s, 0.0f), top));
    scale[m] = s;
    zs[m] = s * zp;
    quantize_row(row, cols, 1.0f / s, zp, top, q + m * cols);
  }
  return finite;
}

void dequantize_rows(const int32_t* acc, int64_t cols, int64_t begin, int64_t end, const float* scale, const float* zs,
                     const float* w_scale, const float* w_sum, const float* bias, float* out) {
  for (int64_t m = begin; m < end; ++m)
    dequantize_row(acc + m * cols, cols, scale[m], zs[m], w_scale, w_sum, bias, out + m * cols);
}

}  // namespace vit
