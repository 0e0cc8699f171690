// oneDNN's view of the CPU; see include/vit/model/onednn_cpu.h.
#include "vit/model/onednn_cpu.h"

#include <oneapi/dnnl/dnnl.hpp>
#include <utility>

namespace vit {

namespace {

// The ISAs named in words; oneDNN's enumeration is theirs and grows, so a table, not a switch.
const std::pair<dnnl::cpu_isa, const char*> kIsaNames[] = {
    {dnnl::cpu_isa::sse41, "sse41"},
    {dnnl::cpu_isa::avx, "avx"},
    {dnnl::cpu_isa::avx2, "avx2"},
    {dnnl::cpu_isa::avx2_vnni, "avx2_vnni"},
    {dnnl::cpu_isa::avx512_core, "avx512_core"},
    {dnnl::cpu_isa::avx512_core_vnni, "avx512_core_vnni"},
    {dnnl::cpu_isa::avx512_core_bf16, "avx512_core_bf16"},
    {dnnl::cpu_isa::avx512_core_amx, "avx512_core_amx"},
};

}  // namespace

std::string onednn_isa_name() {
  const auto isa = dnnl::get_effective_cpu_isa();
  for (const auto& [value, name] : kIsaNames)
    if (value == isa) return name;
  return "other";
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

}  // namespace vit
