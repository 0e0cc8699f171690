// Reading weights files into tensors; see include/vit/model/checkpoint.h.
#include "vit/model/checkpoint.h"

#include <cstring>
#include <optional>

#include "vit/errors.h"
#include "vit/io/safetensors.h"
#include "vit/model/torch_checkpoint.h"

namespace vit {

namespace {

// The floating-point dtypes weights may have; nullopt for the others.
std::optional<torch::ScalarType> torch_dtype(DType t) {
  switch (t) {  // every dtype listed: a new one is a compile error until it says which it is
    case DType::F32: return torch::kFloat32;
    case DType::F16: return torch::kFloat16;
    case DType::BF16: return torch::kBFloat16;
    case DType::F64: return torch::kFloat64;
    case DType::BOOL:
    case DType::U8:
    case DType::I8:
    case DType::F8_E5M2:
    case DType::F8_E4M3:
    case DType::I16:
    case DType::U16:
    case DType::I32:
    case DType::U32:
    case DType::I64:
    case DType::U64: return std::nullopt;
  }
  return std::nullopt;  // not a DType value
}

}  // namespace

namespace {

RawCheckpoint read_safetensors(const std::string& path) {
  RawCheckpoint ck;
  ck.format = FileFormat::Safetensors;
  auto file = std::make_shared<SafetensorsFile>(path);
  for (const TensorView& v : file->tensors()) {
    const auto dtype = torch_dtype(v.dtype);
    if (!dtype) {
      ck.unsupported[v.name] = dtype_name(v.dtype);
      continue;
    }
    void* ptr = const_cast<uint8_t*>(v.data);
    torch::Tensor t;
    if (reinterpret_cast<uintptr_t>(ptr) % dtype_size(v.dtype) == 0) {
      t = torch::from_blob(ptr, v.shape, torch::TensorOptions().dtype(*dtype));  // a view of the mapping
    } else {  // pre-2023 writers did not align the header: copy this one tensor
      t = torch::empty(v.shape, torch::TensorOptions().dtype(*dtype));
      std::memcpy(t.data_ptr(), v.data, v.nbytes);
    }
    ck.tensors[v.name] = t;
  }
  ck.keepalive = file;
  ck.release = [file](const torch::Tensor& t) { file->file().release(t.data_ptr(), t.nbytes()); };
  return ck;
}

RawCheckpoint read_torch_zip(const std::string& path) {
  RawCheckpoint ck;
  ck.format = FileFormat::TorchZip;
  TorchCheckpoint tc = read_torch_checkpoint(path);
  for (auto& kv : tc.tensors) {
    if (kv.second.is_floating_point())
      ck.tensors[kv.first] = kv.second;
    else
      ck.unsupported[kv.first] = c10::toString(kv.second.scalar_type());
  }
  ck.wrapper_key = tc.wrapper_key;
  return ck;
}

}  // namespace

RawCheckpoint read_checkpoint(const std::string& path) {
  const FileFormat format = detect_format(path);
  switch (format) {
    case FileFormat::Safetensors: return read_safetensors(path);
    case FileFormat::TorchZip: return read_torch_zip(path);
    case FileFormat::TorchScript: throw ModelError("'" + path + "' is a TorchScript module, not a weights file");
  }
  throw Error("internal: model file format " + std::to_string(static_cast<int>(format)) + " has no reader");
}

}  // namespace vit
