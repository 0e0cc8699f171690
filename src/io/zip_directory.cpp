// Zip central directories; see include/vit/io/zip_directory.h.
#include "vit/io/zip_directory.h"

#include <zlib.h>

#include <algorithm>

#include "vit/errors.h"
#include "vit/io/bytes.h"
#include "vit/io/safetensors.h"
#include "vit/io/text.h"

namespace vit {

namespace {

// The central directory's offset and entry count, from the end records (zip64 where present).
void find_directory(const MappedFile& f, uint64_t* offset, uint64_t* count, const std::string& where) {
  const uint8_t* d = f.data();
  const size_t n = f.size();
  if (n < 22) throw ModelError(where + "too short for a zip archive");
  size_t eocd = std::string::npos;
  for (size_t i = n - 22 + 1; i-- > (n > 65557 ? n - 65557 : 0);)
    if (load_le(d + i, 4) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd == std::string::npos) throw ModelError(where + "no end-of-central-directory record (a truncated download?)");
  *count = load_le(d + eocd + 10, 2);
  *offset = load_le(d + eocd + 16, 4);
  if (eocd >= 20 && load_le(d + eocd - 20, 4) == 0x07064b50) {  // zip64 locator -> zip64 end record
    const uint64_t z = load_le(d + eocd - 20 + 8, 8);
    if (z + 56 > n || load_le(d + z, 4) != 0x06064b50) throw ModelError(where + "broken zip64 end record");
    *count = load_le(d + z + 32, 8);
    *offset = load_le(d + z + 48, 8);
  }
  if (*offset > n) throw ModelError(where + "the central directory lies beyond the end of the file");
}

// Sizes that did not fit 32 bits are in the zip64 extra field (id 1), in this order.
void read_zip64_extra(const uint8_t* extra, size_t len, ZipEntry& e, bool size32, bool csize32) {
  for (size_t i = 0; i + 4 <= len;) {
    const uint64_t id = load_le(extra + i, 2), sz = load_le(extra + i + 2, 2);
    if (id == 1) {
      size_t at = i + 4;
      if (size32 && at + 8 <= i + 4 + sz) e.size = load_le(extra + at, 8), at += 8;
      if (csize32 && at + 8 <= i + 4 + sz) e.compressed_size = load_le(extra + at, 8);
      return;
    }
    i += 4 + sz;
  }
}

}  // namespace

std::map<std::string, ZipEntry> read_zip_directory(const std::string& path) {
  const MappedFile f(path);
  const std::string where = "'" + path + "': ";
  uint64_t offset = 0, count = 0;
  find_directory(f, &offset, &count, where);
  std::map<std::string, ZipEntry> out;
  const uint8_t* d = f.data();
  for (uint64_t k = 0, at = offset; k < count; ++k) {
    if (at + 46 > f.size() || load_le(d + at, 4) != 0x02014b50)
      throw ModelError(where + "corrupt zip central directory");
    ZipEntry e;
    e.method = static_cast<uint16_t>(load_le(d + at + 10, 2));
    e.crc32 = static_cast<uint32_t>(load_le(d + at + 16, 4));
    e.compressed_size = load_le(d + at + 20, 4);
    e.size = load_le(d + at + 24, 4);
    const uint64_t name_len = load_le(d + at + 28, 2), extra_len = load_le(d + at + 30, 2),
                   comment_len = load_le(d + at + 32, 2);
    if (at + 46 + name_len + extra_len > f.size()) throw ModelError(where + "corrupt zip central directory");
    read_zip64_extra(d + at + 46 + name_len, extra_len, e, e.size == 0xFFFFFFFF, e.compressed_size == 0xFFFFFFFF);
    out[std::string(reinterpret_cast<const char*>(d + at + 46), name_len)] = e;
    at += 46 + name_len + extra_len + comment_len;
  }
  return out;
}

uint32_t crc32_of(const void* data, size_t n) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(data);
  while (n > 0) {
    const auto chunk = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    crc = ::crc32(crc, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

ZipDirectory::ZipDirectory(const std::string& path) : path_(path), entries_(read_zip_directory(path)) {
  for (const auto& kv : entries_) {
    const auto& name = kv.first;
    if (ends_with(name, "/data.pkl")) prefix_ = name.substr(0, name.size() - 8);
  }
}

bool ZipDirectory::has(const std::string& record) const {
  return !prefix_.empty() && entries_.count(prefix_ + record) > 0;
}

const ZipEntry& ZipDirectory::check_size(const std::string& record, uint64_t most) const {
  const auto it = entries_.find(prefix_ + record);
  if (it == entries_.end()) throw ModelError("'" + path_ + "': record '" + record + "' is missing from the archive");
  const ZipEntry& e = it->second;
  if (e.size > most)
    throw ModelError("'" + path_ + "': record '" + record + "' inflates to " + std::to_string(e.size) +
                     " bytes, more than the " + std::to_string(most) + " it can need; refused unread");
  if (e.method != 0 && e.size > 64 * e.compressed_size + (1u << 20))
    throw ModelError("'" + path_ + "': record '" + record + "' inflates " + std::to_string(e.compressed_size) +
                     " bytes to " + std::to_string(e.size) + ": a zip bomb? refused unread");
  return e;
}

void ZipDirectory::check_crc(const std::string& record, const void* data, size_t n) const {
  const auto it = entries_.find(prefix_ + record);
  if (it == entries_.end()) return;  // check_size reported it
  if (crc32_of(data, n) != it->second.crc32)
    throw ModelError("'" + path_ + "': record '" + record + "' fails its CRC-32 check: the file is corrupt " +
                     "(a damaged download or disk?)");
}

}  // namespace vit
