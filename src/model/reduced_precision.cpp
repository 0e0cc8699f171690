// bf16 and int8 linear kernels on oneDNN; see include/vit/model/reduced_precision.h.
#include "vit/model/reduced_precision.h"

#include <malloc.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <utility>
#include <vector>

#include "vit/errors.h"
#include "vit/model/int8_rows.h"
#include "vit/model/parallel.h"

namespace vit {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// A buffer of this thread's that only grows: the per-call scratch (the quantized input, the
// int32 sums, oneDNN's scratchpad) is neither allocated nor faulted in again on every call.
class ThreadBuffer {
 public:
  void* get(size_t bytes) {
    if (bytes > size_) {
      const size_t rounded = (bytes + 63) / 64 * 64;
      ptr_.reset(static_cast<char*>(std::aligned_alloc(64, rounded)));
      if (!ptr_) throw std::bad_alloc();
      size_ = rounded;
    }
    return ptr_.get();
  }

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  std::unique_ptr<char, Free> ptr_;
  size_t size_ = 0;
};

// Pages of their own for a layer's packed weights (mmap), outside glibc's heap: the heap then
// holds only what comes and goes (the float32 weights while loading, activations), and the
// weights never pin a freed region of it. Without this, the peak RSS of a run moved by 30 MB
// with nothing but the heap's layout (bf16 ViT-B: 430 or 461 MB, by whether stderr was a file).
class MappedBytes {
 public:
  MappedBytes() = default;
  explicit MappedBytes(size_t bytes) : size_(std::max<size_t>(bytes, 1)) {
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data_ = p;
  }
  MappedBytes(MappedBytes&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  MappedBytes& operator=(MappedBytes&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    return *this;
  }
  MappedBytes(const MappedBytes&) = delete;
  MappedBytes& operator=(const MappedBytes&) = delete;
  ~MappedBytes() {
    if (data_) ::munmap(data_, size_);
  }
  void* data() const { return data_; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

enum class Scratch { Onednn, Quantized, Sums, Rounded, Count };
void* thread_scratch(Scratch which, size_t bytes) {
  thread_local ThreadBuffer buffers[static_cast<int>(Scratch::Count)];
  return buffers[static_cast<int>(which)].get(bytes);
}

// The rows the weights are packed for first; other row counts reuse that packing where oneDNN
// can (see OnednnLinear::primitive_for).
constexpr int64_t kPackRows = 1576;  // ViT-B/16, batch 8
// Row counts whose primitive a layer keeps (a run has one or two: full and last batch).
constexpr size_t kPrimitives = 8;

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

  dnnl::matmul::primitive_desc describe(int64_t M, bool gelu, const dnnl::memory::desc& weights) const {
    const dnnl::memory::desc src({M, K_}, source_type(), tag::ab), dst({M, N_}, dest_type(), tag::ab);
    const dnnl::memory::desc bias({1, N_}, dt::f32, tag::ab);
    dnnl::primitive_attr attr = attributes(gelu);
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const auto desc =
        matmul_bias() ? dnnl::matmul::desc(src, weights, bias, dst) : dnnl::matmul::desc(src, weights, dst);
    return dnnl::matmul::primitive_desc(desc, attr, cpu_engine());
  }

  // Packs `plain` (N, K) row-major, of weight_type(), into the layout oneDNN prefers.
  void pack(const void* plain) {
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

  // The primitive for M rows; oneDNN may pick another weight layout for small M: then the
  // packed weights are handed over in their layout if the kernel takes it, else reordered per
  // call. At most kPrimitives are kept (each holds generated code); callers share them.
  std::shared_ptr<const Primitive> primitive_for(int64_t M, bool gelu) const {
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

  // Runs the primitive on src (M rows of source_type()) into dst ((M, N) of dest_type()).
  void run(const void* src, int64_t M, bool gelu, std::unordered_map<int, dnnl::memory> args, void* dst) const {
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
      args[DNNL_ARG_SCRATCHPAD] = dnnl::memory({{static_cast<int64_t>(p.scratchpad_bytes)}, dt::u8, tag::a},
                                               cpu_engine(), thread_scratch(Scratch::Onednn, p.scratchpad_bytes));
    if (const float* b = matmul_bias())
      args[DNNL_ARG_BIAS] = dnnl::memory({{1, N_}, dt::f32, tag::ab}, cpu_engine(), const_cast<float*>(b));
    args[DNNL_ARG_SRC] = dnnl::memory({{M, K_}, source_type(), tag::ab}, cpu_engine(), const_cast<void*>(src));
    args[DNNL_ARG_WEIGHTS] = weights;
    args[DNNL_ARG_DST] = dnnl::memory({{M, N_}, dest_type(), tag::ab}, cpu_engine(), dst);
    p.matmul.execute(s, args);
    s.wait();
  }

  int64_t K_, N_;
  MappedBytes packed_bytes_;  // before packed_, which points into it
  dnnl::memory packed_;
  int64_t extra_bytes_ = 0;
  std::string label_;

 private:
  mutable std::mutex mu_;
  mutable std::map<std::pair<int64_t, bool>, std::shared_ptr<const Primitive>> primitives_;
};

// (..., K) -> (M, K) contiguous float32, and back to (..., N).
torch::Tensor rows(const torch::Tensor& x, int64_t K) { return x.reshape({-1, K}).to(torch::kFloat32).contiguous(); }
torch::Tensor unrows(const torch::Tensor& y, const torch::Tensor& x) {
  auto sizes = x.sizes().vec();
  sizes.back() = y.size(1);
  return y.view(sizes);
}

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
    auto src = rows(x, K_);
    const int64_t M = src.size(0);
    if (type_ != torch::kFloat32)  // rounded into this thread's scratch, not a new tensor per call
      src = torch::from_blob(thread_scratch(Scratch::Rounded, static_cast<size_t>(M * K_) * c10::elementSize(type_)),
                             {M, K_}, torch::TensorOptions().dtype(type_))
                .copy_(src);
    auto out = torch::empty({M, N_}, torch::kFloat32);
    run(src.data_ptr(), M, gelu, {}, out.data_ptr());
    return unrows(out, x);
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

// Rows per task when the row loops are shared among threads.
constexpr int64_t kRowGrain = 16;
// The most rows an int8 layer multiplies at once (see Int8Linear::forward).
constexpr int64_t kInt8BlockRows = 512;

class Int8Linear final : public OnednnLinear {
 public:
  Int8Linear(const torch::Tensor& weight, const torch::Tensor& bias, int qmax)
      : OnednnLinear(weight.size(1), weight.size(0)) {
    const auto w = weight.to(torch::kFloat32);
    // Symmetric per output channel: w = w_scale[n] * q, |q| <= qmax.
    w_scale_ = (w.abs().amax(1) / static_cast<double>(qmax)).clamp_min(1e-12).contiguous();
    const auto q = (w / w_scale_.unsqueeze(1)).round().clamp(-qmax, qmax).to(torch::kInt8).contiguous();
    w_sum_ = (w_scale_ * q.to(torch::kFloat32).sum(1)).contiguous();
    if (bias.defined()) bias_ = bias.to(torch::kFloat32).contiguous().clone();
    extra_bytes_ = 2 * N_ * static_cast<int64_t>(sizeof(float));
    pack(q.data_ptr());
    label_ =
        "int8 " + label_ + " (u8 x s8 -> s32, " + std::to_string(qmax == 127 ? 8 : 7) + "-bit weights, inputs per row)";
  }

  // Long inputs go through in blocks of at most kInt8BlockRows rows (equal blocks), so that the
  // int32 sums, the largest scratch, stay a few MB; rows are independent, the numbers the same.
  torch::Tensor forward(const torch::Tensor& x, bool gelu) const override {
    const auto src = rows(x, K_);
    const int64_t M = src.size(0);
    auto out = torch::empty({M, N_}, torch::kFloat32);
    const int64_t block = equal_block_rows(M, kInt8BlockRows);
    for (int64_t first = 0; first < M; first += block) {
      const int64_t n = std::min(block, M - first);
      finish(quantize(src.data_ptr<float>() + first * K_, n), out.data_ptr<float>() + first * N_);
    }
    if (gelu) at::gelu_out(out, out);  // in place: one (M, N) buffer less at the peak
    return unrows(out, x);
  }

  // gelu(x W^T + b) straight into `next`'s quantized input, a block of rows at a time while in
  // cache: the int32 sums are dequantized, GELU'd (LibTorch's kernel, as forward) and quantized
  // per row again without the float32 hidden activations ever being whole in memory. The
  // numbers are those of forward(x, true) then next.forward.
  torch::Tensor forward_mlp(const torch::Tensor& x, const LinearKernel& next_kernel) const override {
    const auto* next = dynamic_cast<const Int8Linear*>(&next_kernel);
    if (!next || next->K_ != N_) return {};
    const auto src = rows(x, K_);
    const int64_t M = src.size(0);
    Rows in = quantize(src.data_ptr<float>(), M);
    const int32_t* acc = multiply(in);
    // The hidden rows, quantized, in the scratch that held x's (no longer read once multiplied).
    Rows hidden{static_cast<uint8_t*>(thread_scratch(Scratch::Quantized, static_cast<size_t>(M * N_))),
                torch::empty({M}, torch::kFloat32), torch::empty({M}, torch::kFloat32), M};
    parallel_rows(0, M, kRowGrain, [&](int64_t begin, int64_t end) {
      thread_local std::vector<float> block;
      const int64_t n = end - begin;
      block.resize(static_cast<size_t>(n * N_));
      dequantize_rows(acc + begin * N_, N_, 0, n, in.scale.data_ptr<float>() + begin, in.zs.data_ptr<float>() + begin,
                      w_scale_.data_ptr<float>(), w_sum_.data_ptr<float>(), bias(), block.data());
      auto t = torch::from_blob(block.data(), {n, N_});
      at::gelu_out(t, t);
      // A non-finite row stays NaN through the next layer (see quantize_rows_u8).
      quantize_rows_u8(block.data(), N_, 0, n, hidden.q + begin * N_, hidden.scale.data_ptr<float>() + begin,
                       hidden.zs.data_ptr<float>() + begin);
    });
    auto out = torch::empty({M, next->N_}, torch::kFloat32);
    next->finish(hidden, out.data_ptr<float>());
    return unrows(out, x);
  }

 private:
  // A layer's input quantized per row: u8 values (M x K, in this thread's scratch), scales and
  // scale x zero point per row.
  struct Rows {
    uint8_t* q;
    torch::Tensor scale, zs;
    int64_t M;
  };

  const float* bias() const { return bias_.defined() ? bias_.data_ptr<float>() : nullptr; }

  Rows quantize(const float* x, int64_t M) const {
    Rows r{static_cast<uint8_t*>(thread_scratch(Scratch::Quantized, static_cast<size_t>(M * K_))),
           torch::empty({M}, torch::kFloat32), torch::empty({M}, torch::kFloat32), M};
    // A row holding NaN or infinity (NaN weights upstream, say) comes out NaN, as in float32:
    // that image gets a failed record rather than the whole run an error.
    parallel_rows(0, M, kRowGrain, [&](int64_t begin, int64_t end) {
      quantize_rows_u8(x, K_, begin, end, r.q, r.scale.data_ptr<float>(), r.zs.data_ptr<float>());
    });
    return r;
  }

  // The int32 sums (M x N, in this thread's scratch) of quantized rows times the weights.
  int32_t* multiply(const Rows& in) const {
    auto* acc = static_cast<int32_t*>(thread_scratch(Scratch::Sums, static_cast<size_t>(in.M * N_) * sizeof(int32_t)));
    run(in.q, in.M, false, {}, acc);
    return acc;
  }

  // Quantized rows (of this layer's input) through the layer, into out (M x N float32).
  void finish(const Rows& in, float* out) const {
    const int32_t* acc = multiply(in);
    parallel_rows(0, in.M, kRowGrain, [&](int64_t begin, int64_t end) {
      dequantize_rows(acc, N_, begin, end, in.scale.data_ptr<float>(), in.zs.data_ptr<float>(),
                      w_scale_.data_ptr<float>(), w_sum_.data_ptr<float>(), bias(), out);
    });
  }

  dt source_type() const override { return dt::u8; }
  dt weight_type() const override { return dt::s8; }
  dt dest_type() const override { return dt::s32; }
  dnnl::primitive_attr attributes(bool) const override { return {}; }
  torch::Tensor w_scale_, w_sum_, bias_;
};

}  // namespace

std::string onednn_isa_name() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

bool onednn_has_vnni() {
  const auto isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx2_vnni || isa == dnnl::cpu_isa::avx512_core_vnni ||
         isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

bool onednn_has_native_bf16() {
  const auto isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

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

std::shared_ptr<const LinearKernel> make_int8_kernel(const torch::Tensor& weight, const torch::Tensor& bias,
                                                     int weight_bits) {
  if (weight_bits == 0) weight_bits = onednn_has_vnni() ? 8 : 7;
  // Without VNNI, oneDNN sums u8 x s8 products in pairs with vpmaddubsw, whose int16 result
  // saturates for 8-bit weights (255 x 127 x 2 > 32767): wrong numbers, never an error.
  if (weight_bits != 7 && weight_bits != 8)
    throw ModelError("int8 weights take 7 or 8 bits, not " + std::to_string(weight_bits));
  if (weight_bits == 8 && !onednn_has_vnni())
    throw ModelError("8-bit int8 weights need VNNI, which this CPU lacks (oneDNN sees " + onednn_isa_name() +
                     "): its int16 pair sums would saturate; use 7 bits");
  return std::make_shared<Int8Linear>(weight, bias, (1 << (weight_bits - 1)) - 1);
}

namespace {

std::string why_kernel(Precision p) {
  const std::string isa = "oneDNN sees " + onednn_isa_name();
  if (p == Precision::Fp32) return isa + ": float32 sums as LibTorch's, weights packed once, bias and GELU fused";
  if (p == Precision::Int8)
    return isa + (onednn_has_vnni()
                      ? ": VNNI sums u8 x s8 products in int32, so weights use 8 bits"
                      : ": no VNNI, the int16 pair sums of vpmaddubsw would saturate, so weights use 7 bits");
  return isa + (onednn_has_native_bf16() ? ": native AVX512-BF16 dot products"
                                         : ": no native bf16, so it is emulated (slower than fp32)");
}

}  // namespace

PrecisionConverter::PrecisionConverter(Precision p) { report_.precision = p; }

void PrecisionConverter::convert(LinearImpl& lin) {
  const Precision p = report_.precision;
  if (fp32_fallback_) return;  // oneDNN refused the first layer: every layer stays on LibTorch's product
  const auto start = std::chrono::steady_clock::now();
  torch::NoGradGuard no_grad;
  std::shared_ptr<const LinearKernel> k;
  try {
    k = p == Precision::Fp32   ? make_fp32_kernel(lin.weight, lin.bias)
        : p == Precision::Bf16 ? make_bf16_kernel(lin.weight, lin.bias)
                               : make_int8_kernel(lin.weight, lin.bias);
  } catch (const dnnl::error& e) {
    if (p == Precision::Fp32 && report_.layers == 0) {
      fp32_fallback_ = true;
      report_.kernel = "LibTorch's float32 product (BLAS)";
      report_.warning = std::string("oneDNN has no float32 matmul here (") + e.what() + "): LibTorch's product runs it";
      return;
    }
    throw ModelError(std::string("--precision ") + precision_name(p) + ": oneDNN has no kernel for this CPU (" +
                     onednn_isa_name() + "): " + e.what() + "; use --precision fp32");
  }
  const int64_t freed_before = report_.weight_bytes_before;
  report_.weight_bytes_before += lin.weight.nbytes() + (lin.bias.defined() ? lin.bias.nbytes() : 0);
  report_.weight_bytes_after += k->bytes();
  if (report_.kernel.empty()) report_.kernel = k->name();
  lin.set_kernel(std::move(k));
  // The float32 copies are no longer read: free them (the parameter keeps its name, empty).
  lin.weight.set_(torch::empty({0}, lin.weight.options()));
  if (lin.bias.defined()) lin.bias.set_(torch::empty({0}, lin.bias.options()));
  // glibc keeps freed weights in its heap: give the pages back every 16 MB (each trim walks
  // the heap, so not after every layer), and at the end.
  freed_since_trim_ += report_.weight_bytes_before - freed_before;
  if (freed_since_trim_ >= (int64_t{16} << 20)) trim();
  ++report_.layers;
  report_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void PrecisionConverter::trim() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
  freed_since_trim_ = 0;
}

PrecisionReport PrecisionConverter::finish(int kept_fp32) {
  trim();
  report_.kept_fp32 = kept_fp32;
  const Precision p = report_.precision;
  report_.why = fp32_fallback_ ? "oneDNN refused the layers" : why_kernel(p);
  if (p == Precision::Bf16 && !onednn_has_native_bf16())
    report_.warning = "this CPU has no native bf16 (" + onednn_isa_name() +
                      "): --precision bf16 runs slower than fp32 here and is only useful to check its numbers";
  return report_;
}

}  // namespace vit
