// The base of the oneDNN linear kernels (float_linear.h, int8_linear.h): a matmul
// x (M, K) . W^T (K, N) -> (M, N) with the weights packed once in oneDNN's layout. For
// src/model's kernel files only: it needs oneDNN's header.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <utility>

#include "vit/model/kernel_memory.h"
#include "vit/model/linear.h"

namespace vit {

// The CPU engine every kernel and reorder runs on.
dnnl::engine& cpu_engine();

// (..., K) -> (M, K) contiguous float32, and back to (..., N).
torch::Tensor to_rows(const torch::Tensor& x, int64_t K);
torch::Tensor from_rows(const torch::Tensor& y, const torch::Tensor& x);

// A matmul x (M, K) . W^T (K, N) -> (M, N) with its weights packed once, and one primitive per
// (M, gelu) made on first use. Subclasses choose the data types, attributes and per-call
// arguments. Primitives run with a scratchpad of the caller's, so that the batch workers can
// run one layer at once (a library-owned scratchpad is shared by all threads).
class OnednnLinear : public LinearKernel {
 public:
  OnednnLinear(int64_t in, int64_t out) : K_(in), N_(out) {}

  std::string name() const override { return label_; }
  int64_t bytes() const override { return static_cast<int64_t>(packed_.get_desc().get_size()) + extra_bytes_; }

 protected:
  using dt = dnnl::memory::data_type;

  struct Primitive {
    dnnl::matmul matmul;
    bool reorder_weights = false;  // this M's kernel wants another weight layout: reorder per call
    dnnl::memory::desc weights_md;
    size_t scratchpad_bytes = 0;
  };

  virtual dt source_type() const = 0;
  virtual dt weight_type() const = 0;
  virtual dt dest_type() const { return dt::f32; }
  virtual dnnl::primitive_attr attributes(bool gelu) const = 0;
  virtual const float* matmul_bias() const { return nullptr; }  // float32 (N), added by the primitive

  dnnl::matmul::primitive_desc describe(int64_t M, bool gelu, const dnnl::memory::desc& weights) const;

  // Packs `plain` (N, K) row-major, of weight_type(), into the layout oneDNN prefers.
  void pack(const void* plain);

  // The primitive for M rows; oneDNN may pick another weight layout for small M: then the
  // packed weights are handed over in their layout if the kernel takes it, else reordered per
  // call. At most kPrimitives are kept (each holds generated code); callers share them.
  std::shared_ptr<const Primitive> primitive_for(int64_t M, bool gelu) const;

  // Runs the primitive on src (M rows of source_type()) into dst ((M, N) of dest_type()).
  void run(const void* src, int64_t M, bool gelu, std::unordered_map<int, dnnl::memory> args, void* dst) const;

  int64_t K_, N_;
  MappedBytes packed_bytes_;  // before packed_, which points into it
  dnnl::memory packed_;
  int64_t extra_bytes_ = 0;
  std::string label_;

 private:
  mutable std::mutex mu_;
  mutable std::map<std::pair<int64_t, bool>, std::shared_ptr<const Primitive>> primitives_;
};

}  // namespace vit
