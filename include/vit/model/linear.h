// The model's linear layer, y = x W^T + b, with its parameters under timm's names ("weight",
// "bias"), and a seam for reduced precision: after the weights are loaded, a LinearKernel
// (precision.h makes them: bf16 or int8, oneDNN) can take over the product. Without one the
// layer is torch::linear in the weights' own dtype, exactly as torch.nn.Linear computes it.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

namespace vit {

// A replacement for a linear layer's product. forward(x) takes (..., in) float32 and gives
// (..., out) float32; with gelu it gives gelu(x W^T + b) (erf form), fused where the kernel can.
class LinearKernel {
 public:
  virtual ~LinearKernel() = default;
  virtual torch::Tensor forward(const torch::Tensor& x, bool gelu) const = 0;
  // The MLP's two layers at once, gelu(x W^T + b) then `next`, where the kernels can hand the
  // hidden activations over in their own form (int8: quantized rows, never float32 in memory);
  // an undefined tensor where they cannot, and the caller runs the layers one by one.
  virtual torch::Tensor forward_mlp(const torch::Tensor& /*x*/, const LinearKernel& /*next*/) const { return {}; }
  // Whether each output row depends on its input row alone, bit for bit, whatever the rows
  // around it and the threads (int8: integer sums, exact in any order). Float kernels are not:
  // oneDNN and BLAS pick blocking and the split of the sums by the row count and threads.
  virtual bool exact_rows() const { return false; }
  virtual std::string name() const = 0;  // "int8 oneDNN (u8 x s8, ...)" for -v
  virtual int64_t bytes() const = 0;     // the memory its packed weights hold
};

// While one is alive on this thread, new Linear layers leave their parameters uninitialised
// (untouched memory, not yet resident): for modules whose every weight is about to be loaded.
class SkipLinearInit {
 public:
  SkipLinearInit();
  ~SkipLinearInit();
  SkipLinearInit(const SkipLinearInit&) = delete;
  SkipLinearInit& operator=(const SkipLinearInit&) = delete;

 private:
  bool previous_;
};

class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t in, int64_t out, bool bias);  // initialised as torch::nn::Linear is, unless SkipLinearInit
  torch::Tensor forward(const torch::Tensor& x);
  // gelu(forward(x)), erf form (the MLP's hidden layer): one pass where the kernel fuses it.
  torch::Tensor forward_gelu(const torch::Tensor& x);

  // Hands the product to `k`; the float32 weight and bias may then be released (see
  // release_weights) when nothing else (explain's fp32 path) needs them.
  void set_kernel(std::shared_ptr<const LinearKernel> k) { kernel_ = std::move(k); }
  // Batch-invariant products (the image tower sets it): on the CPU, without autograd, each
  // entry x[b] of the first dimension (an image's T tokens, or the head's one row) is a product
  // of its own, so that an image's numbers never depend on the batch it is in. Entries of fewer
  // than kThreadedRows rows run single-threaded, the same bits for any thread count.
  bool per_image = false;
  static constexpr int64_t kThreadedRows = 16;
  const LinearKernel* kernel() const { return kernel_.get(); }

  int64_t in_features, out_features;
  torch::Tensor weight;  // (out, in)
  torch::Tensor bias;    // (out), or undefined

 private:
  torch::Tensor product(const torch::Tensor& x, bool gelu) const;  // the kernel's, or torch::linear
  torch::Tensor apply(const torch::Tensor& x, bool gelu) const;    // product, per image where set

  std::shared_ptr<const LinearKernel> kernel_;
};
TORCH_MODULE(Linear);

}  // namespace vit
