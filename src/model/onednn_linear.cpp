// The packed-weight matmul the oneDNN kernels share; see include/vit/model/onednn_linear.h.
#include "vit/model/onednn_linear.h"

namespace vit {

namespace {

using tag = dnnl::memory::format_tag;

// The rows the weights are packed for first; other row counts reuse that packing where oneDNN
// can (see OnednnLinear::primitive_for).
constexpr int64_t kPackRows = 1576;  // ViT-B/16, batch 8
// Row counts whose primitive a layer keeps (a run has one or two: full and last batch).
constexpr size_t kPrimitives = 8;

}  // namespace

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

torch::Tensor to_rows(const torch::Tensor& x, int64_t K) { return x.reshape({-1, K}).to(torch::kFloat32).contiguous(); }

torch::Tensor from_rows(const torch::Tensor& y, const torch::Tensor& x) {
  auto sizes = x.sizes().vec();
  sizes.back() = y.size(1);
  return y.view(sizes);
}

dnnl::matmul::primitive_desc OnednnLinear::describe(int64_t M, bool gelu, const dnnl::memory::desc& weights) const {
  const dnnl::memory::desc src({M, K_}, source_type(), tag::ab), dst({M, N_}, dest_type(), tag::ab);
  const dnnl::memory::desc bias({1, N_}, dt::f32, tag::ab);
  dnnl::primitive_attr attr = attributes(gelu);
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const auto desc = matmul_bias() ? dnnl::matmul::desc(src, weights, bias, dst) : dnnl::matmul::desc(src, weights, dst);
  return dnnl::matmul::primitive_desc(desc, attr, cpu_engine());
}

void OnednnLinear::pack(const void* plain) {
  const dnnl::memory::desc plain_md({K_, N_}, weight_type(), tag::ba);
  const auto pd = describe(kPackRows, false, dnnl::memory::desc({K_, N_}, weight_type(), tag::any));
  label_ = std::string("oneDNN ") + pd.impl_info_str();
  packed_bytes_ = MappedBytes(pd.weights_desc().get_size());
  packed_ = dnnl::memory(pd.weights_desc(), cpu_engine(), packed_bytes_.data());
  dnnl::memory src(plain_md, cpu_engine(), const_cast<void*>(plain));
  dnnl::stream s(cpu_engine());
  dnnl::reorder(src, packed_).execute(s, src, packed_);
  s.wait();
}

std::shared_ptr<const OnednnLinear::Primitive> OnednnLinear::primitive_for(int64_t M, bool gelu) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto key = std::make_pair(M, gelu);
  auto it = primitives_.find(key);
  if (it != primitives_.end()) return it->second;
  auto p = std::make_shared<Primitive>();
  auto pd = describe(M, gelu, dnnl::memory::desc({K_, N_}, weight_type(), tag::any));
  if (pd.weights_desc() != packed_.get_desc()) {
    try {
      pd = describe(M, gelu, packed_.get_desc());
    } catch (const dnnl::error&) {
      p->reorder_weights = true;
    }
  }
  p->weights_md = pd.weights_desc();
  p->scratchpad_bytes = pd.scratchpad_desc().get_size();
  p->matmul = dnnl::matmul(pd);
  if (primitives_.size() >= kPrimitives) primitives_.erase(primitives_.begin());
  primitives_.emplace(key, p);
  return p;
}

void OnednnLinear::run(const void* src, int64_t M, bool gelu, std::unordered_map<int, dnnl::memory> args,
                       void* dst) const {
  at::internal::lazy_init_num_threads();  // this thread's OpenMP team as LibTorch's (workers)
  const std::shared_ptr<const Primitive> shared = primitive_for(M, gelu);
  const Primitive& p = *shared;
  dnnl::stream s(cpu_engine());
  dnnl::memory weights = packed_;
  if (p.reorder_weights) {
    weights = dnnl::memory(p.weights_md, cpu_engine());
    dnnl::reorder(packed_, weights).execute(s, const_cast<dnnl::memory&>(packed_), weights);
  }
  if (p.scratchpad_bytes)
    args[DNNL_ARG_SCRATCHPAD] = dnnl::memory({{static_cast<int64_t>(p.scratchpad_bytes)}, dt::u8, tag::a}, cpu_engine(),
                                             thread_scratch(Scratch::Onednn, p.scratchpad_bytes));
  if (const float* b = matmul_bias())
    args[DNNL_ARG_BIAS] = dnnl::memory({{1, N_}, dt::f32, tag::ab}, cpu_engine(), const_cast<float*>(b));
  args[DNNL_ARG_SRC] = dnnl::memory({{M, K_}, source_type(), tag::ab}, cpu_engine(), const_cast<void*>(src));
  args[DNNL_ARG_WEIGHTS] = weights;
  args[DNNL_ARG_DST] = dnnl::memory({{M, N_}, dest_type(), tag::ab}, cpu_engine(), dst);
  p.matmul.execute(s, args);
  s.wait();
}

}  // namespace vit
