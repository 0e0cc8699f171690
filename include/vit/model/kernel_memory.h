// Memory of the oneDNN linear kernels (onednn_linear.h): each layer's packed weights in pages
// of their own, and each thread's per-call scratch, reused from call to call.
#pragma once

#include <cstddef>

namespace vit {

// Pages of their own for a layer's packed weights (mmap), outside glibc's heap: the heap then
// holds only what comes and goes (the float32 weights while loading, activations), and the
// weights never pin a freed region of it. Without this, the peak RSS of a run moved by 30 MB
// with nothing but the heap's layout (bf16 ViT-B: 430 or 461 MB, by whether stderr was a file).
class MappedBytes {
 public:
  MappedBytes() = default;
  explicit MappedBytes(size_t bytes);  // throws std::bad_alloc
  MappedBytes(MappedBytes&& o) noexcept;
  MappedBytes& operator=(MappedBytes&& o) noexcept;
  MappedBytes(const MappedBytes&) = delete;
  MappedBytes& operator=(const MappedBytes&) = delete;
  ~MappedBytes();
  void* data() const { return data_; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

// This thread's scratch of each kind: oneDNN's scratchpad, the quantized input (u8), the
// int32 sums, an input rounded to bfloat16.
enum class Scratch { Onednn, Quantized, Sums, Rounded, Count };  // Count: how many kinds

// At least `bytes` (64-byte aligned) of this thread's scratch of that kind. The buffer only
// grows: the per-call scratch is neither allocated nor faulted in again on every call. Valid
// until the next call for the same kind on this thread.
void* thread_scratch(Scratch which, size_t bytes);

}  // namespace vit
