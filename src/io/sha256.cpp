// File digests; see include/vit/io/sha256.h.
#include "vit/io/sha256.h"

#include <openssl/evp.h>

#include <memory>

#include "vit/errors.h"
#include "vit/io/safetensors.h"

namespace vit {

std::string sha256_file(const std::string& path) {
  const MappedFile file(path);  // throws ModelError for missing, empty or unreadable files
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  constexpr size_t kChunk = size_t{64} << 20;  // hash and release 64 MB at a time: memory stays flat
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1;
  for (size_t at = 0; ok && at < file.size(); at += kChunk) {
    const size_t n = std::min(kChunk, file.size() - at);
    ok = EVP_DigestUpdate(ctx.get(), file.data() + at, n) == 1;
    file.release(file.data() + at, n);
  }
  if (!ok || EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1)
    throw ModelError("cannot compute the SHA-256 of '" + path + "'");
  return hex_bytes(digest, length);
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()), ok_(ctx_ != nullptr) {
  ok_ = ok_ && EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr) == 1;
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256::update(const void* data, size_t n) {
  ok_ = ok_ && EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, n) == 1;
}

std::string Sha256::hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!ok_ || EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), digest, &length) != 1)
    throw Error("cannot compute a SHA-256 (OpenSSL failed)");
  ok_ = false;
  return hex_bytes(digest, length);
}

std::string hex_bytes(const void* data, size_t n) {
  static const char* digits = "0123456789abcdef";
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

std::string sha256_hex(const void* data, size_t n) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data, n, digest, &length, EVP_sha256(), nullptr) != 1)
    throw Error("cannot compute the SHA-256 of " + std::to_string(n) + " bytes (OpenSSL failed)");
  return hex_bytes(digest, length);
}

}  // namespace vit
