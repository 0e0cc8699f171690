// Validating safetensors reader; see include/vit/io/safetensors.h.
#include "vit/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "vit/errors.h"
#include "vit/io/bytes.h"
#include "vit/io/files.h"

namespace vit {

namespace {

struct DTypeInfo {
  DType dtype;
  const char* name;
  size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::BOOL, "BOOL", 1},       {DType::U8, "U8", 1},   {DType::I8, "I8", 1},   {DType::F8_E5M2, "F8_E5M2", 1},
    {DType::F8_E4M3, "F8_E4M3", 1}, {DType::I16, "I16", 2}, {DType::U16, "U16", 2}, {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},       {DType::I32, "I32", 4}, {DType::U32, "U32", 4}, {DType::F32, "F32", 4},
    {DType::F64, "F64", 8},         {DType::I64, "I64", 8}, {DType::U64, "U64", 8},
};

const DTypeInfo& info(DType t) {
  for (const auto& d : kDTypes)
    if (d.dtype == t) return d;
  throw Error("internal: unknown DType value");
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

const char* dtype_name(DType t) { return info(t).name; }
size_t dtype_size(DType t) { return info(t).size; }

MappedFile::MappedFile(const std::string& path) : path_(path) {
  const ReadOnlyFile file(path);  // a FIFO named as a model must not block the open
  if (file.fd() < 0) throw ModelError("cannot open model file '" + path + "': " + std::strerror(file.error()));
  if (file.error()) throw ModelError("cannot stat model file '" + path + "': " + std::strerror(file.error()));
  if (S_ISDIR(file.stat().st_mode)) throw ModelError("model path '" + path + "' is a directory, not a weights file");
  if (!S_ISREG(file.stat().st_mode))
    throw ModelError("model path '" + path + "' is not a regular file (a FIFO, socket or device?)");
  size_ = static_cast<size_t>(file.stat().st_size);
  if (size_ == 0) throw ModelError("model file '" + path + "' is empty (0 bytes). Perhaps an interrupted download?");
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, file.fd(), 0);
  if (p == MAP_FAILED) throw ModelError("cannot memory-map model file '" + path + "': " + errno_text());
  data_ = static_cast<const uint8_t*>(p);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

void MappedFile::release(const void* p, size_t n) const {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(p), end = begin + n;
  const auto lo = reinterpret_cast<uintptr_t>(data_), hi = lo + size_;
  if (begin < lo || end > hi) return;
  const uintptr_t a = (begin + page - 1) / page * page, b = end / page * page;
  if (b > a) ::madvise(reinterpret_cast<void*>(a), b - a, MADV_DONTNEED);
}

namespace {

using nlohmann::json;

// A tensor entry of the header with its byte range in the data buffer.
struct Entry {
  TensorView view;
  uint64_t begin, end;
};

// Checks 1-3: the 8-byte length is there, within the limit, and the header fits the file.
uint64_t header_length(const uint8_t* base, size_t size, const std::string& where) {
  if (size < 8)
    throw ModelError(where + "the file is only " + std::to_string(size) +
                     " bytes long, shorter than the 8-byte header length. Perhaps a truncated download?");
  const uint64_t n = load_le(base, 8);
  if (n > SafetensorsFile::kMaxHeaderSize)
    throw ModelError(where + "the JSON header claims " + std::to_string(n) + " bytes, over the " +
                     std::to_string(SafetensorsFile::kMaxHeaderSize) +
                     "-byte limit. Is this a safetensors file at all?");
  if (8 + n > size)  // cannot overflow after the limit check
    throw ModelError(where + "the JSON header is " + std::to_string(n) + " bytes long but the file is only " +
                     std::to_string(size) + " bytes. Perhaps an incomplete download or corrupt file?");
  return n;
}

// Check 4: the header is UTF-8 JSON, an object, and names no tensor twice.
json parse_header(const char* begin, const char* end, const std::string& where) {
  if (begin == end || *begin != '{')
    throw ModelError(where + "the JSON header does not start with '{'. Not a safetensors file?");
  std::set<std::string> seen;
  std::string duplicate;
  json header;
  try {
    header = json::parse(begin, end, [&](int depth, json::parse_event_t ev, json& parsed) {
      if (ev == json::parse_event_t::key && depth == 1) {
        const std::string& k = parsed.get_ref<const std::string&>();
        if (!seen.insert(k).second && duplicate.empty()) duplicate = k;
      }
      return true;
    });
  } catch (const json::exception& e) {
    throw ModelError(where + "the header is not valid UTF-8 JSON (" + e.what() + "). Corrupt file?");
  }
  if (!duplicate.empty())
    throw ModelError(where + "the header names tensor '" + clipped(duplicate) + "' more than once");
  if (!header.is_object()) throw ModelError(where + "the JSON header is not an object");
  return header;
}

// Shape as int64 and its element count; check 6: the count times the dtype size does not overflow.
std::vector<int64_t> parse_shape(const json& js, size_t dtype_bytes, const std::string& tw, size_t* nbytes) {
  if (!js.is_array()) throw ModelError(tw + "shape is not an array");
  std::vector<int64_t> shape;
  uint64_t numel = 1;
  bool overflow = false;
  for (const json& d : js) {
    if (!d.is_number_unsigned()) throw ModelError(tw + "shape holds something other than a non-negative integer");
    const uint64_t dim = d.get<uint64_t>();
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) overflow = true;
    if (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / dim) overflow = true;
    numel *= dim;
    shape.push_back(static_cast<int64_t>(dim));
  }
  if (overflow || numel > std::numeric_limits<uint64_t>::max() / dtype_bytes)
    throw ModelError(tw + "shape's element count overflows");
  *nbytes = static_cast<size_t>(numel * dtype_bytes);
  return shape;
}

Entry parse_entry(const std::string& name, const json& v, const std::string& where) {
  const std::string tw = where + "tensor '" + clipped(name) + "': ";
  if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
    throw ModelError(tw + "entry must be an object with dtype, shape and data_offsets");
  const json& jd = v["dtype"];
  if (!jd.is_string()) throw ModelError(tw + "dtype is not a string");
  const std::string dname = jd.get<std::string>();
  const DTypeInfo* di = nullptr;
  for (const auto& d : kDTypes)
    if (dname == d.name) di = &d;
  if (!di) throw ModelError(tw + "unknown dtype '" + clipped(dname) + "'");
  size_t nbytes = 0;
  std::vector<int64_t> shape = parse_shape(v["shape"], di->size, tw, &nbytes);
  const json& jo = v["data_offsets"];
  if (!jo.is_array() || jo.size() != 2 || !jo[0].is_number_unsigned() || !jo[1].is_number_unsigned())
    throw ModelError(tw + "data_offsets must be two non-negative integers");
  return {TensorView{name, di->dtype, std::move(shape), nullptr, nbytes}, jo[0].get<uint64_t>(), jo[1].get<uint64_t>()};
}

// Checks 5-7: sorted by offset, the entries tile the data buffer exactly, each the size its
// dtype and shape need, and the buffer ends at the end of the file.
void check_tiling(std::vector<Entry>& entries, uint64_t buffer_size, const std::string& where) {
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t expected = 0;
  for (const Entry& en : entries) {
    const std::string tw = where + "tensor '" + clipped(en.view.name) + "': ";
    if (en.begin != expected || en.end < en.begin)
      throw ModelError(tw + "data_offsets [" + std::to_string(en.begin) + ", " + std::to_string(en.end) +
                       "] do not continue the buffer at byte " + std::to_string(expected) +
                       " (offsets must tile the data buffer with no gap or overlap)");
    if (en.end - en.begin != en.view.nbytes)
      throw ModelError(tw + "data_offsets span " + std::to_string(en.end - en.begin) + " bytes but dtype " +
                       dtype_name(en.view.dtype) + " and its shape need " + std::to_string(en.view.nbytes));
    expected = en.end;
  }
  if (expected != buffer_size)
    throw ModelError(where + "the tensors cover " + std::to_string(expected) + " bytes of data but the file holds " +
                     std::to_string(buffer_size) + " after the header" +
                     (expected > buffer_size ? ". Perhaps a truncated download?" : " (trailing bytes)."));
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(std::make_shared<MappedFile>(path)) {
  const uint8_t* base = file_->data();
  const size_t size = file_->size();
  const std::string where = "[safetensors] '" + path + "': ";
  const uint64_t n = header_length(base, size, where);
  const char* hbeg = reinterpret_cast<const char*>(base + 8);
  const json header = parse_header(hbeg, hbeg + n, where);

  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() != "__metadata__") {
      entries.push_back(parse_entry(it.key(), it.value(), where));
      continue;
    }
    if (!it.value().is_object()) throw ModelError(where + "__metadata__ is not an object of strings");
    for (auto m = it.value().begin(); m != it.value().end(); ++m) {
      if (!m.value().is_string())
        throw ModelError(where + "__metadata__ value for '" + clipped(m.key()) + "' is not a string");
      metadata_[m.key()] = m.value().get<std::string>();
    }
  }
  check_tiling(entries, size - 8 - n, where);

  const uint8_t* data = base + 8 + n;
  tensors_.reserve(entries.size());
  for (Entry& en : entries) {
    en.view.data = data + en.begin;
    tensors_.push_back(std::move(en.view));
  }
}

const TensorView* SafetensorsFile::find(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace vit
