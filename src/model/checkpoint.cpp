// Reading weights files into tensors; see include/vit/model/checkpoint.h.
#include "vit/model/checkpoint.h"

#include <cstring>

#include "vit/errors.h"
#include "vit/io/safetensors.h"
#include "vit/io/torch_checkpoint.h"

namespace vit {

namespace {

torch::ScalarType torch_dtype(const TensorView& v, const std::string& path) {
  switch (v.dtype) {
    case DType::F32: return torch::kFloat32;
    case DType::F16: return torch::kFloat16;
    case DType::BF16: return torch::kBFloat16;
    case DType::F64: return torch::kFloat64;
    default:
      throw ModelError("'" + path + "': tensor '" + v.name + "' has dtype " + dtype_name(v.dtype) +
                       "; weights must be F32, F16, BF16 or F64 (quantised checkpoints are not supported)");
  }
}

}  // namespace

RawCheckpoint read_checkpoint(const std::string& path) {
  RawCheckpoint ck;
  ck.format = detect_format(path);
  if (ck.format == FileFormat::TorchScript)
    throw ModelError("'" + path + "' is a TorchScript module, not a weights file");
  if (ck.format == FileFormat::Safetensors) {
    auto file = std::make_shared<SafetensorsFile>(path);
    for (const TensorView& v : file->tensors()) {
      const auto dtype = torch_dtype(v, path);
      void* ptr = const_cast<uint8_t*>(v.data);
      torch::Tensor t;
      if (reinterpret_cast<uintptr_t>(ptr) % dtype_size(v.dtype) == 0) {
        t = torch::from_blob(ptr, v.shape, torch::TensorOptions().dtype(dtype));  // a view of the mapping
      } else {  // pre-2023 writers did not align the header: copy this one tensor
        t = torch::empty(v.shape, torch::TensorOptions().dtype(dtype));
        std::memcpy(t.data_ptr(), v.data, v.nbytes);
      }
      ck.tensors[v.name] = t;
    }
    ck.keepalive = file;
    ck.release = [file](const torch::Tensor& t) { file->file().release(t.data_ptr(), t.nbytes()); };
    return ck;
  }
  TorchCheckpoint tc = read_torch_checkpoint(path);
  for (auto& kv : tc.tensors) {
    const auto st = kv.second.scalar_type();
    if (st != torch::kFloat32 && st != torch::kFloat16 && st != torch::kBFloat16 && st != torch::kFloat64)
      throw ModelError("'" + path + "': tensor '" + kv.first + "' has dtype " + std::string(c10::toString(st)) +
                       "; weights must be floating point");
  }
  ck.tensors = std::move(tc.tensors);
  ck.wrapper_key = tc.wrapper_key;
  return ck;
}

}  // namespace vit
