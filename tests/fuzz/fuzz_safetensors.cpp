// Fuzz target: the safetensors reader (header length, JSON header, tensor table, offsets).
// Every tensor it accepts is read end to end, so a view past the mapping shows up in ASan.
#include "fuzz_util.h"
#include "vit/errors.h"
#include "vit/io/safetensors.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vit::fuzz::quiet();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = vit::fuzz::write_scratch("model.safetensors", data, size);
  try {
    const vit::SafetensorsFile file(path);
    uint64_t sum = 0;
    for (const auto& t : file.tensors()) {
      size_t elements = 1;
      for (int64_t d : t.shape) elements *= static_cast<size_t>(d);
      if (elements * vit::dtype_size(t.dtype) != t.nbytes)
        throw std::logic_error("size does not match shape: " + t.name);
      for (size_t i = 0; i < t.nbytes; ++i) sum += t.data[i];
      if (file.find(t.name) != &t) throw std::logic_error("find() does not return the tensor: " + t.name);
    }
    for (const auto& [k, v] : file.metadata()) sum += k.size() + v.size();
    if (sum == 1) std::abort();  // keeps the reads from being optimised away; never true here
  } catch (const vit::Error&) {
  }
  return 0;
}
