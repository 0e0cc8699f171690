// Packed-weight pages and per-thread scratch; see include/vit/model/kernel_memory.h.
#include "vit/model/kernel_memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <new>
#include <utility>

namespace vit {

namespace {

// A buffer of this thread's that only grows.
class ThreadBuffer {
 public:
  void* get(size_t bytes) {
    if (bytes > size_) {
      const size_t rounded = (bytes + 63) / 64 * 64;
      ptr_.reset(static_cast<char*>(std::aligned_alloc(64, rounded)));
      if (!ptr_) throw std::bad_alloc();
      size_ = rounded;
    }
    return ptr_.get();
  }

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  std::unique_ptr<char, Free> ptr_;
  size_t size_ = 0;
};

}  // namespace

MappedBytes::MappedBytes(size_t bytes) : size_(std::max<size_t>(bytes, 1)) {
  void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  data_ = p;
}

MappedBytes::MappedBytes(MappedBytes&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}

MappedBytes& MappedBytes::operator=(MappedBytes&& o) noexcept {
  std::swap(data_, o.data_);
  std::swap(size_, o.size_);
  return *this;
}

MappedBytes::~MappedBytes() {
  if (data_) ::munmap(data_, size_);
}

void* thread_scratch(Scratch which, size_t bytes) {
  thread_local ThreadBuffer buffers[static_cast<int>(Scratch::Count)];
  return buffers[static_cast<int>(which)].get(bytes);
}

}  // namespace vit
