// Unsigned integers stored in n bytes (n <= 8), as file formats write them: little-endian
// (safetensors' header length, zip records, pickle's BININT and LONG1, BMP/TIFF fields) or
// big-endian (PNG, JPEG, TIFF "MM"). The caller checks that the n bytes are there.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vit {

inline uint64_t load_le(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t k = n; k-- > 0;) v = (v << 8) | p[k];
  return v;
}

inline uint64_t load_be(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t k = 0; k < n; ++k) v = (v << 8) | p[k];
  return v;
}

}  // namespace vit
