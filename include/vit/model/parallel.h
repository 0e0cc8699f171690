// The model's own parallel loops. at::parallel_for runs its chunks on LibTorch's OpenMP threads
// (in files compiled with OpenMP: CMakeLists.txt lists them), but those threads do not inherit
// the caller's thread-local LibTorch modes: a LibTorch op that writes a tensor made under
// InferenceMode throws when it runs outside it. parallel_rows carries the caller's mode over.
#pragma once

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <cstdint>

namespace vit {

template <class F>
void parallel_rows(int64_t begin, int64_t end, int64_t grain, const F& f) {
  const bool inference = c10::InferenceMode::is_enabled();
  at::parallel_for(begin, end, grain, [&](int64_t b, int64_t e) {
    c10::InferenceMode mode(inference);
    f(b, e);
  });
}

// The size of the equal blocks that cover `rows` rows with blocks of at most `most` (1 when
// there are none): long inputs go through the MLP and the int8 layers this way.
inline int64_t equal_block_rows(int64_t rows, int64_t most) {
  const int64_t blocks = (rows + most - 1) / most;
  return blocks > 0 ? (rows + blocks - 1) / blocks : 1;
}

}  // namespace vit
