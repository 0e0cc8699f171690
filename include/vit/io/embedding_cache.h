// Text embeddings (a class list's prompts through CLIP's text tower) kept on disk, so that a
// later run with the same model, names and templates skips the text tower. The cache may be
// shared and its bytes are untrusted: every read is checked whole, and any fault is a warning
// and a miss (the caller recomputes and overwrites), never a failed run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vit {

// Most floats one cache file holds (1 GiB of float32): dims past it are not cached.
constexpr int64_t kMaxCachedFloats = int64_t{1} << 28;

// The cache folder: $VIT_CLASSIFY_CACHE when set and not empty, else
// $XDG_CACHE_HOME/vit-classify/text-embeddings, else $HOME/.cache/vit-classify/text-embeddings
// (HOME unset: the user's home from the password database), a leading "~/" expanded as the
// hub's cache does; "" when no folder can be found (then nothing is cached).
std::string embedding_cache_dir();

// A cache key: 64 lowercase hex digits (a SHA-256 the caller computes over what the
// embeddings depend on).
bool is_embedding_key(const std::string& key);

// The file DIR/KEY.f32: magic "VITEMB1\0", rows and cols (u64 little-endian), rows*cols
// float32 little-endian (row-major), then the 32-byte SHA-256 of everything before it.

// The rows x cols floats (row-major) cached under `key` in `dir`. nullopt when dir is "", the
// file is absent, or it is refused (a warning naming the file and the fault): a symlink (the
// file, or `dir` itself; folders above dir are followed), not a regular file (a FIFO does not
// block), the wrong size, magic or dims, a digest mismatch, a float that is not finite.
// Throws Error for a key that is not is_embedding_key or dims outside 1..kMaxCachedFloats.
std::optional<std::vector<float>> read_embeddings(const std::string& dir, const std::string& key, int64_t rows,
                                                  int64_t cols);

// Writes `data` (rows x cols, row-major) as DIR/KEY.f32: dir is created (mode 0700, parents
// as needed), the file written to a temporary file created O_EXCL|O_NOFOLLOW in dir, fsynced
// and renamed over the old one. false when dir is "" (no warning then), and after a warning
// when the write fails or is refused: dir or the file path a symlink, the path not a regular
// file, data holding a float that is not finite (a read would refuse it). Throws Error for a
// bad key, dims outside 1..kMaxCachedFloats, or data.size() != rows*cols.
bool write_embeddings(const std::string& dir, const std::string& key, int64_t rows, int64_t cols,
                      const std::vector<float>& data);

}  // namespace vit
