// The central directory of a zip archive (torch.save and TorchScript files are zips), read
// without inflating anything: each entry's CRC-32 and sizes, so that a reader can refuse an
// entry that would inflate to more than it needs, and check what it inflated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace vit {

struct ZipEntry {
  uint32_t crc32 = 0;
  uint64_t size = 0;  // inflated
  uint64_t compressed_size = 0;
  uint16_t method = 0;  // 0 stored, 8 deflated
};

// Entry name -> facts (zip64 included). Throws ModelError when the directory cannot be read.
std::map<std::string, ZipEntry> read_zip_directory(const std::string& path);

// zlib's CRC-32 of n bytes.
uint32_t crc32_of(const void* data, size_t n);

// A PyTorch archive's directory: records are named inside the archive's top folder (the one
// holding data.pkl), as caffe2's reader names them.
class ZipDirectory {
 public:
  explicit ZipDirectory(const std::string& path);  // throws ModelError
  // Before inflating a record: it exists, and inflates to at most `most` bytes and to at most
  // 64 times its compressed size (a zip bomb inflates thousands of times). Throws ModelError.
  const ZipEntry& check_size(const std::string& record, uint64_t most) const;
  // Whether the archive holds the record (named inside the archive's top folder).
  bool has(const std::string& record) const;
  // After: the inflated bytes match the record's CRC-32. Throws ModelError.
  void check_crc(const std::string& record, const void* data, size_t n) const;

 private:
  std::string path_, prefix_;
  std::map<std::string, ZipEntry> entries_;
};

}  // namespace vit
