// The precision converter; see include/vit/model/reduced_precision.h.
#include "vit/model/reduced_precision.h"

#include <malloc.h>

#include <chrono>
#include <oneapi/dnnl/dnnl.hpp>
#include <utility>

#include "vit/errors.h"

namespace vit {

namespace {

std::string why_kernel(Precision p) {
  const std::string isa = "oneDNN sees " + onednn_isa_name();
  switch (p) {
    case Precision::Fp32: return isa + ": float32 sums as LibTorch's, weights packed once, bias and GELU fused";
    case Precision::Bf16:
      return isa + (onednn_has_native_bf16() ? ": native AVX512-BF16 dot products"
                                             : ": no native bf16, so it is emulated (slower than fp32)");
    case Precision::Int8:
      return isa + (onednn_has_vnni()
                        ? ": VNNI sums u8 x s8 products in int32, so weights use 8 bits"
                        : ": no VNNI, the int16 pair sums of vpmaddubsw would saturate with 8 bits on both sides, so "
                          "inputs use 7 bits");
  }
  throw Error("internal: no kernel for precision " + std::to_string(static_cast<int>(p)));
}

// The precision's kernel for one layer; a switch without default, so that a new precision is
// a compile error (-Wswitch-enum) until it has a kernel.
std::shared_ptr<const LinearKernel> make_kernel(Precision p, const LinearImpl& lin) {
  switch (p) {
    case Precision::Fp32: return make_fp32_kernel(lin.weight, lin.bias);
    case Precision::Bf16: return make_bf16_kernel(lin.weight, lin.bias);
    case Precision::Int8: return make_int8_kernel(lin.weight, lin.bias);
  }
  throw Error("internal: no kernel for precision " + std::to_string(static_cast<int>(p)));
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
    k = make_kernel(p, lin);
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
