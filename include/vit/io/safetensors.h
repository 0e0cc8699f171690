// A validating, zero-copy reader for the safetensors format (Hugging Face, timm).
// The file is memory-mapped; tensors are views into the mapping. Every check that the
// reference reader (huggingface/safetensors, safetensors/src/tensor.rs) makes is made here,
// and each failure throws vit::ModelError naming the file, the tensor and the values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace vit {

enum class DType { BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };

const char* dtype_name(DType t);
size_t dtype_size(DType t);

// A read-only memory mapping of a whole file; unmapped when the last owner goes.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);  // throws ModelError
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Drops the whole pages inside [p, p + n) from this process's memory once their bytes were
  // copied (they are read back from the file if touched again): loading stays at ~1x the model.
  void release(const void* p, size_t n) const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

struct TensorView {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const uint8_t* data;  // little-endian, C order; not necessarily aligned
  size_t nbytes;
};

class SafetensorsFile {
 public:
  static constexpr uint64_t kMaxHeaderSize = 100000000;

  explicit SafetensorsFile(const std::string& path);  // maps and validates; throws ModelError

  // Tensors in file order (sorted by offset).
  const std::vector<TensorView>& tensors() const { return tensors_; }
  const TensorView* find(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return file_->path(); }
  const MappedFile& file() const { return *file_; }

 private:
  std::shared_ptr<MappedFile> file_;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace vit
