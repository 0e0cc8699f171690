// SHA-256 of a file (OpenSSL's, which uses the CPU's SHA instructions where there are some),
// so that a record can say exactly which weights made it, and of bytes in memory.
#pragma once

#include <cstddef>
#include <string>

namespace vit {

// Lower-case hex digest of the whole file. Throws ModelError when it cannot be read.
std::string sha256_file(const std::string& path);

// A digest computed piece by piece: update() any number of times, then hex() once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t n);
  void update(const std::string& s) { update(s.data(), s.size()); }
  std::string hex();  // lower-case hex digest; throws Error when OpenSSL fails

 private:
  void* ctx_;  // EVP_MD_CTX
  bool ok_;
};

// Lower-case hex of bytes: "a\xff" -> "61ff".
std::string hex_bytes(const void* data, size_t n);

// Lower-case hex digest of n bytes in memory (a cache key, a file's checksum). Throws Error
// when OpenSSL cannot compute it.
std::string sha256_hex(const void* data, size_t n);

}  // namespace vit
