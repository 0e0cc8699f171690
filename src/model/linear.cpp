// The model's linear layer; see include/vit/model/linear.h.
#include "vit/model/linear.h"

#include <cmath>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace vit {

namespace {
thread_local bool skip_init = false;
}

SkipLinearInit::SkipLinearInit() : previous_(skip_init) { skip_init = true; }
SkipLinearInit::~SkipLinearInit() { skip_init = previous_; }

LinearImpl::LinearImpl(int64_t in, int64_t out, bool with_bias) : in_features(in), out_features(out) {
  weight = register_parameter("weight", torch::empty({out, in}));
  if (with_bias) bias = register_parameter("bias", torch::empty({out}));
  if (skip_init) return;
  // torch::nn::Linear's initialisation, in its order (random models in tests stay the same).
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (with_bias) {
    const double bound = in > 0 ? 1.0 / std::sqrt(static_cast<double>(in)) : 0.0;
    torch::nn::init::uniform_(bias, -bound, bound);
  }
}

torch::Tensor LinearImpl::product(const torch::Tensor& x, bool gelu) const {
  if (kernel_) return kernel_->forward(x, gelu);
  auto y = torch::linear(x, weight, bias);
  return gelu ? torch::gelu(y) : y;
}

namespace {

// This thread's OpenMP team (oneDNN's and LibTorch's threads for the calls it makes) held to
// one thread while alive: oneDNN splits a product of few rows along its sums by the thread
// count (ViT-B's head, 1 x 768 -> 1000: other bits on 2 threads than on 1).
class OneThread {
 public:
#ifdef _OPENMP
  OneThread() : previous_((at::internal::lazy_init_num_threads(), omp_get_max_threads())) { omp_set_num_threads(1); }
  ~OneThread() { omp_set_num_threads(previous_); }

 private:
  int previous_;
#endif
};

}  // namespace

torch::Tensor LinearImpl::apply(const torch::Tensor& x, bool gelu) const {
  // Why per image: oneDNN's and BLAS's float products round a row differently with the row
  // count (their blocking and split of the sums follow M): ViT-Ti's qkv gave other bits for an
  // image alone (197 rows) than in a batch of 8 (1576). Integer kernels are exact anyway.
  if (!per_image || x.dim() < 2 || !x.device().is_cpu() || torch::GradMode::is_enabled() ||
      (kernel_ && kernel_->exact_rows()))
    return product(x, gelu);
  const int64_t B = x.size(0), rows = B > 0 && in_features > 0 ? x.numel() / (B * in_features) : 0;
  const auto each = [&] {  // x[b] (rows, in) -> out[b] (rows, out), one product each
    if (B == 1) return product(x, gelu);
    const auto first = product(x[0], gelu);
    auto sizes = x.sizes().vec();
    sizes.back() = out_features;
    auto out = torch::empty(sizes, first.options());
    out[0].copy_(first);
    for (int64_t b = 1; b < B; ++b) out[b].copy_(product(x[b], gelu));
    return out;
  };
  if (rows >= kThreadedRows) return each();
  OneThread one;
  return each();
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) { return apply(x, false); }

torch::Tensor LinearImpl::forward_gelu(const torch::Tensor& x) { return apply(x, true); }

}  // namespace vit
