// Facts and settings of the math runtime under the model: which BLAS LibTorch calls, whether
// CUDA is usable, and LibTorch's intra-op thread count (process-wide: the app sets it).
#pragma once

#include <string>

namespace vit {

// Path of the library that provides sgemm_ (the BLAS LibTorch calls), and whether it is the
// slow reference implementation.
std::string blas_library_path();
bool blas_is_reference(const std::string& path);

// Whether this build's LibTorch has CUDA support, and how many devices it sees now.
bool cuda_compiled();
int cuda_device_count();
bool cuda_available();

// The CPU, for benchmarks: /proc/cpuinfo's model name and the vector features that decide
// which kernels run ("AMD EPYC (avx2 fma avx512f avx512_vnni avx512_bf16)").
std::string cpu_description();

// "1.13.1": the LibTorch this binary runs on.
std::string torch_version();

// LibTorch's intra-op threads for math. set_math_threads(0) means one per core; returns the
// number in effect.
int math_threads();
int set_math_threads(int threads);

}  // namespace vit
