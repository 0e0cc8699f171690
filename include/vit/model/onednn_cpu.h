// The CPU as oneDNN sees it (ONEDNN_MAX_CPU_ISA lowers it): which kernels the reduced
// precisions get, and the words -v and bench use for it. No oneDNN types here.
#pragma once

#include <string>

namespace vit {

std::string onednn_isa_name();  // "avx512_core_bf16", ...; "other" for an ISA not named here
bool onednn_has_vnni();         // int8 products without int16 saturation
bool onednn_has_native_bf16();  // bf16 dot products in hardware

}  // namespace vit
