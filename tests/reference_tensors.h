// Reading reference tensors that the Python scripts wrote, without GoogleTest: shared by the
// test suite (test_util.h) and the tools beside it (tests/zoo/).
#pragma once

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "vit/io/safetensors.h"

namespace vit::test {

// An F32 tensor from a reference safetensors file, as floats.
inline std::vector<float> read_f32(const SafetensorsFile& f, const std::string& name,
                                   std::vector<int64_t>* shape = nullptr) {
  const TensorView* v = f.find(name);
  if (!v) throw std::runtime_error("reference tensor '" + name + "' missing from " + f.path());
  if (v->dtype != DType::F32) throw std::runtime_error("reference tensor '" + name + "' is not F32");
  std::vector<float> out(v->nbytes / 4);
  std::memcpy(out.data(), v->data, v->nbytes);
  if (shape) *shape = v->shape;
  return out;
}

}  // namespace vit::test
