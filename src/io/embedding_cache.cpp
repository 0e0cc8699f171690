// Text embeddings cached on disk, checked whole on every read; see include/vit/io/embedding_cache.h.
#include "vit/io/embedding_cache.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "vit/errors.h"
#include "vit/io/bytes.h"
#include "vit/io/files.h"
#include "vit/io/sha256.h"
#include "vit/io/text.h"

namespace vit {

namespace {

constexpr char kMagic[8] = {'V', 'I', 'T', 'E', 'M', 'B', '1', '\0'};
constexpr size_t kHeader = 8 + 8 + 8;  // magic, rows, cols
constexpr size_t kDigest = 32;

void check_request(const std::string& key, int64_t rows, int64_t cols) {
  if (!is_embedding_key(key))
    throw Error("the text-embedding cache key '" + clipped(key, 80) +
                "' is not 64 lowercase hex digits (a SHA-256); it is not used as a file name");
  if (rows < 1 || cols < 1 || rows > kMaxCachedFloats / cols)
    throw Error("cannot cache " + std::to_string(rows) + " x " + std::to_string(cols) +
                " text embeddings: the cache holds 1 to " + std::to_string(kMaxCachedFloats) + " floats a file");
}

// "a/b/" -> "a/b", so that O_NOFOLLOW applies to b itself (a trailing slash follows a link).
std::string without_trailing_slashes(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

size_t file_size(int64_t rows, int64_t cols) { return kHeader + 4 * static_cast<size_t>(rows * cols) + kDigest; }

void store_le(uint64_t v, size_t n, std::string* out) {
  for (size_t k = 0; k < n; ++k) out->push_back(static_cast<char>((v >> (8 * k)) & 0xff));
}

// A descriptor closed on scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

std::string errno_text(int e) { return std::strerror(e); }

}  // namespace

std::string embedding_cache_dir() {
  const std::string own = environment_value("VIT_CLASSIFY_CACHE");
  if (!own.empty()) return expand_home(own);
  const std::string xdg = environment_value("XDG_CACHE_HOME");
  const std::string root =
      xdg.empty() ? (home_directory().empty() ? "" : home_directory() + "/.cache") : expand_home(xdg);
  return root.empty() ? "" : root + "/vit-classify/text-embeddings";
}

bool is_embedding_key(const std::string& key) {
  return key.size() == 64 && key.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::optional<std::vector<float>> read_embeddings(const std::string& dir_given, const std::string& key, int64_t rows,
                                                  int64_t cols) {
  check_request(key, rows, cols);
  if (dir_given.empty()) return std::nullopt;
  const std::string dir = without_trailing_slashes(dir_given);
  const std::string path = dir + "/" + key + ".f32";
  const auto refuse = [&](const std::string& what) {
    spdlog::warn("text-embedding cache: '{}' {}; it is not used (the embeddings are computed again)", path, what);
    return std::nullopt;
  };
  const Fd folder(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (folder.fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    if (errno == ELOOP || errno == ENOTDIR)
      return refuse("is in a folder that is a symbolic link or not a folder (the cache folder must be a real folder)");
    return refuse("cannot be read: the folder does not open: " + errno_text(errno));
  }
  const Fd file(::openat(folder.fd, (key + ".f32").c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (file.fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    if (errno == ELOOP) return refuse("is a symbolic link (planted by another user of a shared cache?)");
    return refuse("cannot be opened: " + errno_text(errno));
  }
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) return refuse("cannot be read: " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) return refuse("is not a regular file (a FIFO, device or folder)");
  const size_t expected = file_size(rows, cols);
  if (static_cast<uint64_t>(st.st_size) != expected)
    return refuse("is " + std::to_string(st.st_size) + " bytes long, not the " + std::to_string(expected) + " that " +
                  std::to_string(rows) + " x " + std::to_string(cols) + " embeddings take (truncated?)");
  std::string bytes(expected + 1, '\0');  // one byte more: a file that grew since fstat is seen
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(file.fd, &bytes[got], bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return refuse("cannot be read: " + errno_text(errno));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got != expected) return refuse("changed size while it was read");
  bytes.pop_back();
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  if (std::memcmp(p, kMagic, sizeof kMagic) != 0)
    return refuse("does not start with the magic VITEMB1 (not a vit-classify embedding file)");
  const uint64_t file_rows = load_le(p + 8, 8), file_cols = load_le(p + 16, 8);
  if (file_rows != static_cast<uint64_t>(rows) || file_cols != static_cast<uint64_t>(cols))
    return refuse("holds " + std::to_string(file_rows) + " x " + std::to_string(file_cols) + " embeddings, not " +
                  std::to_string(rows) + " x " + std::to_string(cols));
  const size_t body = expected - kDigest;
  if (sha256_hex(p, body) != hex_bytes(p + body, kDigest))
    return refuse("does not match its SHA-256 (the file is damaged)");
  std::vector<float> out(static_cast<size_t>(rows * cols));
  for (size_t i = 0; i < out.size(); ++i) {
    const auto bits = static_cast<uint32_t>(load_le(p + kHeader + 4 * i, 4));
    std::memcpy(&out[i], &bits, 4);
    if (!std::isfinite(out[i]))
      return refuse("holds a value that is not a finite number (at float " + std::to_string(i) + ")");
  }
  return out;
}

namespace {

// The file's bytes: header, floats, digest.
std::string encode(int64_t rows, int64_t cols, const std::vector<float>& data) {
  std::string bytes(kMagic, sizeof kMagic);
  bytes.reserve(file_size(rows, cols));
  store_le(static_cast<uint64_t>(rows), 8, &bytes);
  store_le(static_cast<uint64_t>(cols), 8, &bytes);
  for (const float f : data) {
    uint32_t bits = 0;
    std::memcpy(&bits, &f, 4);
    store_le(bits, 4, &bytes);
  }
  const std::string hex = sha256_hex(bytes.data(), bytes.size());
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return bytes;
}

// Creates dir and the folders above it that are missing, each mode 0700 (the cache is the
// user's own); "" when done, else what went wrong.
std::string make_private_dirs(const std::string& dir) {
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    const std::string part = dir.substr(0, pos);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
      return "cannot create the folder '" + part + "': " + errno_text(errno);
  }
  return "";
}

// Writes all of bytes to fd; 0, else the errno.
int write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    done += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

bool write_embeddings(const std::string& dir_given, const std::string& key, int64_t rows, int64_t cols,
                      const std::vector<float>& data) {
  check_request(key, rows, cols);
  if (data.size() != static_cast<size_t>(rows * cols))
    throw Error("cannot cache " + std::to_string(data.size()) + " floats as " + std::to_string(rows) + " x " +
                std::to_string(cols) + " text embeddings (" + std::to_string(rows * cols) + " floats)");
  if (dir_given.empty()) return false;
  const std::string dir = without_trailing_slashes(dir_given);
  const std::string name = key + ".f32";
  const auto fail = [&](const std::string& what) {
    spdlog::warn("text-embedding cache: '{}/{}' is not written: {}; the embeddings are not cached", dir, name, what);
    return false;
  };
  for (size_t i = 0; i < data.size(); ++i)
    if (!std::isfinite(data[i]))
      return fail("float " + std::to_string(i) + " is not a finite number (a read would refuse the file)");
  if (const std::string problem = make_private_dirs(dir); !problem.empty()) return fail(problem);
  const Fd folder(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (folder.fd < 0)
    return fail(errno == ELOOP || errno == ENOTDIR
                    ? "the folder is a symbolic link or not a folder (nothing is written through a link)"
                    : "the folder does not open: " + errno_text(errno));
  struct stat st {};
  if (::fstatat(folder.fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
    return fail(S_ISLNK(st.st_mode) ? "the path is a symbolic link (planted by another user of a shared cache?)"
                                    : "the path is not a regular file (a FIFO, device or folder)");
  std::string bytes;
  try {
    bytes = encode(rows, cols, data);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  // Unique per call: two threads or processes writing one key each have their own temporary file.
  static std::atomic<unsigned long> calls{0};
  const std::string tmp = "." + name + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(calls.fetch_add(1));
  const int fd = ::openat(folder.fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot create the temporary file '" + tmp + "': " + errno_text(errno));
  int e = write_all(fd, bytes);
  if (e == 0 && ::fsync(fd) != 0) e = errno;
  if (::close(fd) != 0 && e == 0) e = errno;
  if (e == 0 && ::renameat(folder.fd, tmp.c_str(), folder.fd, name.c_str()) != 0) e = errno;
  if (e != 0) {
    ::unlinkat(folder.fd, tmp.c_str(), 0);
    return fail(errno_text(e));
  }
  ::fsync(folder.fd);  // the rename itself survives a crash (best effort: a cache)
  return true;
}

}  // namespace vit
