// BLAS, CUDA and threads; see include/vit/model/runtime.h.
#include "vit/model/runtime.h"

#include <dlfcn.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <thread>

namespace vit {

std::string blas_library_path() {
  void* sym = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info info{};
  if (!sym || !dladdr(sym, &info) || !info.dli_fname) return "";
  char resolved[PATH_MAX];
  if (realpath(info.dli_fname, resolved)) return resolved;
  return info.dli_fname;
}

bool blas_is_reference(const std::string& path) {
  // Debian installs the reference BLAS as .../blas/libblas.so.3; OpenBLAS, BLIS and MKL
  // live under their own names.
  return path.find("/blas/libblas.so") != std::string::npos;
}

bool cuda_compiled() { return at::hasCUDA(); }
int cuda_device_count() { return cuda_compiled() ? static_cast<int>(torch::cuda::device_count()) : 0; }
bool cuda_available() { return torch::cuda::is_available(); }

std::string cpu_description() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model = "unknown CPU", flags;
  while (std::getline(in, line) && (model == "unknown CPU" || flags.empty())) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "model name") model = value;
    if (key == "flags") flags = " " + value + " ";
  }
  std::string features;
  for (const char* f : {"avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8"})
    if (flags.find(std::string(" ") + f + " ") != std::string::npos)
      features += (features.empty() ? "" : " ") + std::string(f);
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return model + " (" + (features.empty() ? "no AVX2" : features) + "), " + std::to_string(cores) + " cores";
}

std::string torch_version() { return TORCH_VERSION; }

int math_threads() { return at::get_num_threads(); }

int set_math_threads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);  // LibTorch starts with 1 intra-op thread on some machines
  return at::get_num_threads();
}

}  // namespace vit
