// SHA-256 of a file (OpenSSL's, which uses the CPU's SHA instructions where there are some),
// so that a record can say exactly which weights made it, and of bytes in memory.
#pragma once

#include <cstddef>
#include <string>

namespace vit {

// Lower-case hex digest of the whole file. Throws ModelError when it cannot be read.
std::string sha256_file(const std::string& path);

// Lower-case hex of bytes: "a\xff" -> "61ff".
std::string hex_bytes(const void* data, size_t n);

// Lower-case hex digest of n bytes in memory (a cache key, a file's checksum). Throws Error
// when OpenSSL cannot compute it.
std::string sha256_hex(const void* data, size_t n);

}  // namespace vit
