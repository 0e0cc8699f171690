// The names of the precisions; see include/vit/model/precision.h.
#include "vit/model/precision.h"

namespace vit {

const Vocabulary<Precision>& precision_names() {
  static const Vocabulary<Precision> words{
      {"fp32", Precision::Fp32}, {"bf16", Precision::Bf16}, {"int8", Precision::Int8}};
  return words;
}

}  // namespace vit
