// --precision: the arithmetic the model's linear layers run in. fp32 is the default and the
// faithful path (PyTorch's numbers); bf16 and int8 are opt-in approximations whose agreement
// with fp32 is measured (README "Reduced precision"). No torch types here: the option parser
// and the engine's header use it.
#pragma once

#include "vit/vocabulary.h"

namespace vit {

enum class Precision {
  Fp32,  // everything float32, as PyTorch computes it
  Bf16,  // linear layers: bfloat16 weights and inputs, float32 accumulation and output
  Int8,  // linear layers: int8 weights per output channel, uint8 inputs per row (token), int32 sums
};

const Vocabulary<Precision>& precision_names();  // fp32, bf16, int8
inline const char* precision_name(Precision p) { return name_of(precision_names(), p); }

}  // namespace vit
