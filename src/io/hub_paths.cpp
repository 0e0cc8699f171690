// Names checked before they become cache paths, and writes that never follow a planted link;
// see include/vit/io/hub_paths.h.
#include "vit/io/hub_paths.h"

#include <fcntl.h>
#include <spdlog/fmt/fmt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "vit/errors.h"
#include "vit/io/files.h"
#include "vit/io/text.h"

namespace vit {

namespace {

bool is_lower_hex(const std::string& s) { return s.find_first_not_of("0123456789abcdef") == std::string::npos; }

[[noreturn]] void throw_link(const std::string& path) {
  throw ModelError("'" + path +
                   "' in the Hugging Face cache is a symbolic link where vit-classify expects a plain file or "
                   "folder; it writes nothing through a link in the cache (one planted by another user of a "
                   "shared cache?): remove it, or point HF_HUB_CACHE at a cache of your own");
}

// realpath, or "" when it does not resolve.
std::string resolved(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> p(::realpath(path.c_str(), nullptr), std::free);
  return p ? std::string(p.get()) : "";
}

bool is_under(const std::string& path, const std::string& dir) {
  return !dir.empty() && path.size() > dir.size() + 1 && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

}  // namespace

std::string excerpt(const std::string& text, size_t limit) {
  std::string out;
  for (size_t i = 0; i < text.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (text.size() > limit) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

std::string trimmed_first_line(const std::string& text) {
  const std::string line = text.substr(0, text.find('\n'));
  const auto first = line.find_first_not_of(" \t\r");
  return first == std::string::npos ? "" : line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
}

bool is_commit_hash(const std::string& s) { return s.size() == 40 && is_lower_hex(s); }

bool is_blob_name(const std::string& s) { return (s.size() == 40 || s.size() == 64) && is_lower_hex(s); }

bool is_safe_repo_file(const std::string& name) {
  if (name.empty() || name.size() > 1024) return false;
  size_t start = 0;
  while (true) {
    const size_t slash = std::min(name.find('/', start), name.size());
    const std::string part = name.substr(start, slash - start);
    if (part.empty() || part == "." || part == ".." || part.size() > 255) return false;
    for (char ch : part) {
      const auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || c == 0x7f || c == '\\') return false;
    }
    if (slash == name.size()) return true;
    start = slash + 1;
  }
}

std::string blob_name_from_etag(const std::string& header_value, const std::string& url) {
  std::string etag = header_value;
  if (starts_with(etag, "W/")) etag = etag.substr(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  if (is_blob_name(etag)) return etag;
  throw ModelError("the hub's ETag for " + excerpt(url) + " is '" + excerpt(header_value) +
                   "', not a hex digest (a git sha1 of 40 or a sha256 of 64 lowercase hex digits, as the Hugging "
                   "Face hub sends); it is not used as a file name in the cache (check HF_ENDPOINT or a proxy "
                   "in between)");
}

std::string commit_from_header(const std::string& header_value, const std::string& url) {
  if (is_commit_hash(header_value)) return header_value;
  throw ModelError("the hub's X-Repo-Commit for " + excerpt(url) + " is '" + excerpt(header_value) +
                   "', not a commit hash (40 lowercase hex digits); it is not used as a folder name in the "
                   "cache (check HF_ENDPOINT or a proxy in between)");
}

std::vector<std::string> listed_pth_files(const std::string& body, const std::string& url) {
  const auto info = nlohmann::json::parse(body, nullptr, false);
  std::vector<std::string> pth;
  if (!info.is_object() || !info.contains("siblings") || !info["siblings"].is_array()) return pth;
  for (const auto& s : info["siblings"]) {
    if (!s.is_object() || !s.contains("rfilename") || !s["rfilename"].is_string()) continue;
    const std::string name = s["rfilename"].get<std::string>();
    if (name == ".pth" || !ends_with(name, ".pth")) continue;
    if (!is_safe_repo_file(name))
      throw ModelError("the hub's file list " + excerpt(url) + " names a file '" + excerpt(name) +
                       "', which is not a relative path inside the repository (an absolute path, a '..' part, "
                       "a backslash or a control character); it is not fetched (check HF_ENDPOINT)");
    pth.push_back(name);
  }
  return pth;
}

SmallFile read_small_file(const std::string& path, size_t limit) {
  SmallFile out;
  const ReadOnlyFile file(path);
  if (file.error() == ENOENT) return out;
  out.found = true;
  if (file.error()) {
    out.problem = std::string("cannot read it: ") + std::strerror(file.error());
  } else if (!S_ISREG(file.stat().st_mode)) {
    out.problem = "it is not a regular file";
  } else if (static_cast<uint64_t>(file.stat().st_size) > limit) {
    out.problem =
        "it is " + std::to_string(file.stat().st_size) + " bytes long, over the limit of " + std::to_string(limit);
  } else {
    char buffer[4096];  // read to the end or one byte past the limit (the file may have grown since fstat)
    while (out.text.size() <= limit) {
      const ssize_t n = ::read(file.fd(), buffer, std::min(sizeof buffer, limit + 1 - out.text.size()));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) out.problem = std::string("cannot read it: ") + std::strerror(errno);
      if (n <= 0) break;
      out.text.append(buffer, static_cast<size_t>(n));
    }
    if (out.text.size() > limit) out.problem = "it is over the limit of " + std::to_string(limit) + " bytes";
    if (!out.problem.empty()) out.text.clear();
  }
  return out;
}

std::string cache_repo_folder(const std::string& repo_id) {
  std::string name = "models--";
  for (char c : repo_id) name += c == '/' ? std::string("--") : std::string(1, c);
  return name;
}

std::string read_cache_ref(const std::string& repo_dir, const std::string& revision) {
  constexpr size_t kRefLimit = 256;  // a ref holds a 40-digit hash
  const std::string path = repo_dir + "/refs/" + revision;
  const SmallFile ref = read_small_file(path, kRefLimit);
  const std::string commit = trimmed_first_line(ref.text);
  if (!ref.found || (ref.problem.empty() && commit.empty())) return "";
  if (!ref.problem.empty() || !is_commit_hash(commit))
    throw ModelError("the Hugging Face cache's '" + path + "' should hold a commit hash (40 hex digits) but " +
                     (ref.problem.empty() ? "holds other text" : ref.problem) +
                     "; remove it to fetch the revision again");
  return commit;
}

CacheFolder::CacheFolder(const std::string& root, const std::string& relative) : path_(root) {
  make_dirs(root);
  fd_ = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) throw OutputError("cannot open the folder '" + root + "': " + std::strerror(errno));
  for (size_t start = 0; start < relative.size();) {
    const size_t slash = std::min(relative.find('/', start), relative.size());
    const std::string part = relative.substr(start, slash - start);
    start = slash + 1;
    if (part.empty() || part == "." || part == "..")
      throw ModelError("'" + excerpt(relative) + "' is not a folder name for the cache");
    path_ += "/" + part;
    if (::mkdirat(fd_, part.c_str(), 0777) != 0 && errno != EEXIST)
      throw OutputError("cannot create folder '" + path_ + "': " + std::strerror(errno));
    const int next = ::openat(fd_, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    const int e = errno;
    ::close(fd_);
    fd_ = next;
    if (fd_ >= 0) continue;
    struct stat st {};
    if (e == ELOOP || (::lstat(path_.c_str(), &st) == 0 && S_ISLNK(st.st_mode))) throw_link(path_);
    throw OutputError("cannot open the folder '" + path_ + "': " + std::strerror(e));
  }
}

CacheFolder::~CacheFolder() {
  if (fd_ >= 0) ::close(fd_);
}

int CacheFolder::open_file(const std::string& name, int flags, mode_t mode) const {
  const std::string path = path_ + "/" + name;
  const int fd = ::openat(fd_, name.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
  if (fd < 0 && errno == ELOOP) throw_link(path);
  if (fd < 0) throw OutputError("cannot open '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
    ::close(fd);
    throw ModelError("'" + path + "' in the Hugging Face cache is not a plain file with one link (" +
                     (S_ISREG(st.st_mode) ? std::to_string(st.st_nlink) + " hard links" : "a device, FIFO or folder") +
                     "); vit-classify writes nothing into it (planted by another user of a shared cache?): "
                     "remove it");
  }
  const int blocking = ::fcntl(fd, F_GETFL);
  if (blocking >= 0) ::fcntl(fd, F_SETFL, blocking & ~O_NONBLOCK);
  return fd;
}

bool CacheFolder::has_file(const std::string& name) const {
  struct stat st {};
  return ::fstatat(fd_, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

void CacheFolder::make_symlink(const std::string& target, const std::string& name) const {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (::symlinkat(target.c_str(), fd_, name.c_str()) == 0) return;
    if (errno != EEXIST) break;
    char buffer[PATH_MAX];
    const ssize_t n = ::readlinkat(fd_, name.c_str(), buffer, sizeof buffer);
    if (n > 0 && std::string(buffer, static_cast<size_t>(n)) == target) return;  // a concurrent fetch made it
    ::unlinkat(fd_, name.c_str(), 0);  // a stale link from a moved file: replace it (never a folder)
  }
  throw OutputError("cannot create the symlink '" + path_ + "/" + name + "' -> '" + target +
                    "': " + std::strerror(errno));
}

void CacheFolder::rename(const std::string& from, const std::string& to) const {
  if (::renameat(fd_, from.c_str(), fd_, to.c_str()) != 0)
    throw OutputError("cannot rename '" + path_ + "/" + from + "' to '" + to + "': " + std::strerror(errno));
}

void CacheFolder::remove(const std::string& name) const { ::unlinkat(fd_, name.c_str(), 0); }

void CacheFolder::write_atomic(const std::string& name, const std::string& bytes) const {
  static std::atomic<unsigned long> calls{0};
  const std::string tmp = "." + name + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(calls.fetch_add(1));
  const int fd = open_file(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const int e = errno;
  if (::close(fd) != 0 || done != bytes.size()) {
    remove(tmp);
    throw OutputError("cannot write '" + path_ + "/" + tmp + "': " + std::strerror(e));
  }
  try {
    rename(tmp, name);
  } catch (...) {
    remove(tmp);
    throw;
  }
}

bool snapshot_file_present(const std::string& repo_dir, const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return false;
  const std::string real = resolved(path);
  if (real.empty()) return false;  // a link whose blob is gone
  struct stat target {};
  const bool regular = ::stat(real.c_str(), &target) == 0 && S_ISREG(target.st_mode);
  if (S_ISLNK(st.st_mode) ? regular && is_under(real, resolved(repo_dir + "/blobs"))
                          : regular && is_under(real, resolved(repo_dir)))
    return true;
  if (!S_ISLNK(st.st_mode) && !regular) return false;  // a folder or the like: not the file
  throw ModelError("'" + path + "' in the Hugging Face cache resolves to '" + excerpt(real) +
                   "', outside the repository's blobs/ folder (where huggingface_hub's snapshot links point); "
                   "it is not read (planted by another user of a shared cache?): remove it");
}

}  // namespace vit
