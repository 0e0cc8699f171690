// The converter the loader hands each linear layer to, giving it a kernel of the run's
// precision: fp32, bf16 or int8 on oneDNN (Debian's libdnnl 2.6, the library LibTorch's own CPU
// kernels call; float_linear.h, int8_linear.h).
//
//   fp32: the default on the CPU: float32 weights packed once in oneDNN's blocked layout,
//         float32 sums (strict float32 math), bias and GELU in the same primitive; the same
//         arithmetic as torch::linear in another order of sums. EngineOptions::fp32_on_libtorch
//         (VIT_CLASSIFY_FP32_KERNEL=libtorch) leaves the layers to torch::linear.
//   bf16: weights converted once to bfloat16 and packed in oneDNN's blocked layout; each call
//         rounds its float32 input to bfloat16, accumulates in float32, adds the float32 bias
//         (and GELU) in the same primitive, and returns float32. Native on CPUs with
//         AVX512-BF16 (or AMX); elsewhere oneDNN emulates it, slower than fp32.
//   int8: weights quantized once, symmetric per output channel (to +-127 where the CPU has VNNI;
//         to +-63 where it has not, since vpmaddubsw saturates the int16 sum of two u8 x s8
//         products above 32767); each call quantizes each row (token) of its input to uint8
//         with the row's own scale and zero point (int8_rows.h), multiplies in oneDNN with int32
//         sums, and dequantizes with the bias added (then GELU). Per-row input scales agree with
//         fp32 far better than one scale per tensor (ONNX Runtime's DynamicQuantizeLinear):
//         measured on ViT-Ti, README "Reduced precision".
//
// Everything else (LayerNorm, softmax, the attention products, the residual stream, the
// classifier head) stays float32.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "vit/model/float_linear.h"
#include "vit/model/int8_linear.h"
#include "vit/model/linear.h"
#include "vit/model/onednn_cpu.h"
#include "vit/model/precision.h"

namespace vit {

// What PrecisionConverter did, for -v and bench.
struct PrecisionReport {
  Precision precision = Precision::Fp32;
  int layers = 0;                                           // linear layers given a kernel
  int kept_fp32 = 0;                                        // linear layers left in float32 (the classifier head)
  double seconds = 0;                                       // converting or quantizing the weights
  int64_t weight_bytes_before = 0, weight_bytes_after = 0;  // of those layers
  std::string kernel;                                       // e.g. "oneDNN gemm:jit, u8 x s8, 8-bit weights"
  std::string why;                                          // why that kernel: the CPU's features as oneDNN sees them
  std::string warning;                                      // set when the precision runs slower than fp32 on this CPU
};

// Gives linear layers kernels of one precision, one layer at a time (the loader calls it as
// each layer's weights arrive, see LoadOptions::on_linear_loaded), freeing their float32
// weights; convert throws ModelError when oneDNN cannot run the precision on this CPU.
class PrecisionConverter {
 public:
  explicit PrecisionConverter(Precision p);
  void convert(LinearImpl& layer);
  PrecisionReport finish(int kept_fp32);  // kept_fp32: the head layers left alone

 private:
  void trim();
  PrecisionReport report_;
  int64_t freed_since_trim_ = 0;
  bool fp32_fallback_ = false;
};

}  // namespace vit
