// The float32 and bfloat16 kernels; see include/vit/model/float_linear.h.
#include "vit/model/float_linear.h"

#include "vit/model/onednn_linear.h"

namespace vit {

namespace {

// Floating-point weights and inputs of one type (float32 or bfloat16) through oneDNN's matmul:
// float32 sums, the float32 bias and GELU in the same pass, float32 out.
//   fp32: the same products as torch::linear (strict float32 math, no bf16 shortcut), with the
//         weights packed once; oneDNN's AVX-512/AVX2 kernels beat OpenBLAS's sgemm on them.
//   bf16: weights rounded to bfloat16 once, each input rounded per call.
class FloatLinear final : public OnednnLinear {
 public:
  FloatLinear(const torch::Tensor& weight, const torch::Tensor& bias, torch::ScalarType type)
      : OnednnLinear(weight.size(1), weight.size(0)), type_(type) {
    const auto w = weight.to(type).contiguous();
    if (bias.defined()) bias_ = bias.to(torch::kFloat32).contiguous().clone();  // its own: the layer frees the original
    pack(w.data_ptr());
    label_ = (type == torch::kBFloat16 ? "bf16 " : "fp32 ") + label_;
  }

  torch::Tensor forward(const torch::Tensor& x, bool gelu) const override {
    auto src = to_rows(x, K_);
    const int64_t M = src.size(0);
    if (type_ != torch::kFloat32)  // rounded into this thread's scratch, not a new tensor per call
      src = torch::from_blob(thread_scratch(Scratch::Rounded, static_cast<size_t>(M * K_) * c10::elementSize(type_)),
                             {M, K_}, torch::TensorOptions().dtype(type_))
                .copy_(src);
    auto out = torch::empty({M, N_}, torch::kFloat32);
    run(src.data_ptr(), M, gelu, {}, out.data_ptr());
    return from_rows(out, x);
  }

 private:
  dt source_type() const override { return type_ == torch::kBFloat16 ? dt::bf16 : dt::f32; }
  dt weight_type() const override { return source_type(); }
  const float* matmul_bias() const override { return bias_.defined() ? bias_.data_ptr<float>() : nullptr; }
  dnnl::primitive_attr attributes(bool gelu) const override {
    dnnl::primitive_attr attr;
    if (gelu) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_erf, 0.f, 0.f);
      attr.set_post_ops(ops);
    }
    return attr;
  }
  torch::ScalarType type_;
  torch::Tensor bias_;
};

// bf16 where oneDNN has no bf16 matmul for the CPU (AVX2 only): the same arithmetic (inputs and
// weights rounded to bfloat16, float32 sums and output) through LibTorch's float32 product,
// slower than fp32; kept so that --precision bf16 gives the same numbers on every CPU.
class EmulatedBf16Linear final : public LinearKernel {
 public:
  EmulatedBf16Linear(const torch::Tensor& weight, const torch::Tensor& bias)
      : weight_(weight.to(torch::kBFloat16).contiguous()) {
    if (bias.defined()) bias_ = bias.to(torch::kFloat32).contiguous().clone();
  }
  torch::Tensor forward(const torch::Tensor& x, bool gelu) const override {
    auto y = torch::linear(x.to(torch::kBFloat16).to(torch::kFloat32), weight_.to(torch::kFloat32), bias_);
    return gelu ? torch::gelu(y) : y;
  }
  std::string name() const override { return "bf16 emulated in float32 (oneDNN has no bf16 matmul for this CPU)"; }
  int64_t bytes() const override { return weight_.nbytes() + (bias_.defined() ? bias_.nbytes() : 0); }

 private:
  torch::Tensor weight_, bias_;
};

}  // namespace

std::shared_ptr<const LinearKernel> make_bf16_kernel(const torch::Tensor& weight, const torch::Tensor& bias) {
  try {
    return std::make_shared<FloatLinear>(weight, bias, torch::kBFloat16);
  } catch (const dnnl::error&) {
    return std::make_shared<EmulatedBf16Linear>(weight, bias);
  }
}

std::shared_ptr<const LinearKernel> make_fp32_kernel(const torch::Tensor& weight, const torch::Tensor& bias) {
  return std::make_shared<FloatLinear>(weight, bias, torch::kFloat32);
}

}  // namespace vit
