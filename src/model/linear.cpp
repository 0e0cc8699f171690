// The model's linear layer; see include/vit/model/linear.h.
#include "vit/model/linear.h"

#include <cmath>

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

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
  if (kernel_) return kernel_->forward(x, false);
  return torch::linear(x, weight, bias);
}

torch::Tensor LinearImpl::forward_gelu(const torch::Tensor& x) {
  if (kernel_) return kernel_->forward(x, true);
  return torch::gelu(torch::linear(x, weight, bias));
}

}  // namespace vit
