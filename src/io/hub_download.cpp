// The hub's HTTP side: HEAD, GET and downloads into blobs/; see include/vit/io/hub_download.h.
#include "vit/io/hub_download.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include "vit/errors.h"
#include "vit/io/files.h"
#include "vit/io/hub_http.h"
#include "vit/io/hub_paths.h"
#include "vit/io/progress_line.h"
#include "vit/io/sha256.h"

namespace vit {

namespace {

using namespace hub_http;  // NOLINT(google-build-using-namespace): this file's own helpers
using Clock = std::chrono::steady_clock;

// The longest answer get_hub_text reads: a file list of thousands of files is under 1 MiB.
constexpr curl_off_t kTextLimit = 16 << 20;

// An flock held for the object's life. huggingface_hub's FileLock takes the same kind of lock on
// the same file, so a Python process and we also exclude each other.
class FileLock {
 public:
  FileLock(const CacheFolder& folder, const std::string& name) {
    const std::string path = folder.path() + "/" + name;
    fd_ = folder.open_file(name, O_RDWR | O_CREAT, 0644);
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
    spdlog::info("waiting for another process downloading the same file (lock {})", path);
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd_);
      throw OutputError("cannot lock '" + path + "': " + std::strerror(e));
    }
  }
  ~FileLock() { ::close(fd_); }  // closing the descriptor releases the lock
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

// blobs/ETAG.incomplete while it is written, with the running SHA-256 of its bytes (hashed as
// they arrive, so that checking a large file costs no second pass over it).
struct Partial {
  const CacheFolder& folder;
  std::string name;  // ETAG.incomplete
  std::string path;
  int fd = -1;
  uint64_t bytes = 0;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> sha{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  CURL* easy = nullptr;
  bool started = false;   // the first body bytes have come (the status is checked then)
  bool overflow = false;  // more bytes came than announced: the transfer was stopped
  std::string bad_range;
  int write_errno = 0;
  // The progress line, when asked for.
  std::optional<ProgressLine> progress;
  std::string label;
  uint64_t total = 0, first_byte = 0;
  Clock::time_point begin = Clock::now();

  Partial(const CacheFolder& f, const std::string& etag, uint64_t expected);
  ~Partial() {
    if (fd >= 0) ::close(fd);
  }
  void restart();
  std::string digest();
};

// Opened from the blobs/ folder without following a link: a planted blobs/ETAG.incomplete link
// to another file is refused, never truncated or appended to.
Partial::Partial(const CacheFolder& f, const std::string& etag, uint64_t expected)
    : folder(f), name(etag + ".incomplete"), path(f.path() + "/" + name) {
  fd = folder.open_file(name, O_RDWR | O_CREAT, 0644);
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw OutputError("cannot read '" + path + "': " + std::strerror(errno));
  if (!sha || EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr) != 1) throw ModelError("cannot start SHA-256");
  if (static_cast<uint64_t>(st.st_size) > expected) {  // not a prefix of this file
    restart();
    return;
  }
  // A partial file from an earlier run: hash what is there, then append to it.
  std::vector<char> buffer(size_t{1} << 20);
  for (ssize_t n; (n = ::read(fd, buffer.data(), buffer.size())) != 0; bytes += static_cast<uint64_t>(n)) {
    if (n < 0) throw OutputError("cannot read '" + path + "': " + std::strerror(errno));
    EVP_DigestUpdate(sha.get(), buffer.data(), static_cast<size_t>(n));
  }
  first_byte = bytes;
}

void Partial::restart() {
  if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0)
    throw OutputError("cannot truncate '" + path + "': " + std::strerror(errno));
  EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr);
  bytes = first_byte = 0;
}

std::string Partial::digest() {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(sha.get(), d, &n);
  return hex_bytes(d, n);
}

void draw_progress(Partial& p, bool done) {
  if (!p.progress || !p.progress->due(done)) return;
  const double seconds = std::chrono::duration<double>(Clock::now() - p.begin).count();
  const double rate = seconds > 0 ? static_cast<double>(p.bytes - p.first_byte) / seconds / 1e6 : 0.0;
  const int percent = p.total ? static_cast<int>(100.0 * static_cast<double>(p.bytes) / p.total) : 100;
  p.progress->draw(
      fmt::format("{}  {:.1f} / {:.1f} MB  {:3d}%  {:.1f} MB/s", p.label, p.bytes / 1e6, p.total / 1e6, percent, rate),
      done);
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto& p = *static_cast<Partial*>(user);
  const size_t length = size * count;
  if (!p.started) {
    p.started = true;
    long status = 0;
    curl_easy_getinfo(p.easy, CURLINFO_RESPONSE_CODE, &status);
    const std::string range = header(p.easy, "Content-Range");
    if (p.bytes > 0 && status == 200) {
      p.restart();  // the server ignored Range: everything comes, from the start
    } else if (status == 206 && range.rfind("bytes " + std::to_string(p.bytes) + "-", 0) != 0) {
      p.bad_range = range;
      return 0;
    }
  }
  if (p.bytes + length > p.total) {  // stop at the announced length: a body that goes on is not written
    p.overflow = true;
    return 0;
  }
  for (size_t done = 0; done < length;) {
    const ssize_t n = ::write(p.fd, data + done, length - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      p.write_errno = n < 0 ? errno : ENOSPC;
      return 0;
    }
    done += static_cast<size_t>(n);
  }
  EVP_DigestUpdate(p.sha.get(), data, length);
  p.bytes += length;
  draw_progress(p, false);
  return length;
}

size_t on_text(char* data, size_t size, size_t count, void* user) {
  auto& text = *static_cast<std::string*>(user);
  if (text.size() + size * count > static_cast<size_t>(kTextLimit)) return 0;  // refused, not grown without end
  text.append(data, size * count);
  return size * count;
}

std::string kept(const Partial& p) {
  return "; the " + std::to_string(p.bytes) + " bytes received are kept in " + p.path +
         " and the next try resumes from there";
}

// GET metadata.location into p, from p.bytes on.
void transfer(const HubFileMetadata& m, const BlobTarget& t, Partial& p) {
  Easy h = make_easy();
  char errors[CURL_ERROR_SIZE];
  const std::string where = excerpt(m.location);
  const Headers headers = common_options(h.get(), m.location, t.token, hub_origin(m.url), t.stall_seconds, errors);
  const std::string range = std::to_string(p.bytes) + "-";
  if (p.bytes > 0) curl_easy_setopt(h.get(), CURLOPT_RANGE, range.c_str());
  follow_redirects(h.get(), !t.token.empty());
  curl_easy_setopt(h.get(), CURLOPT_FAILONERROR, 1L);
  // A Content-Length over the announced size is refused before a byte is written.
  curl_easy_setopt(h.get(), CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(m.size));
  curl_easy_setopt(h.get(), CURLOPT_BUFFERSIZE, 512L * 1024);  // few, large writes: as fast as curl -o
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &p);
  p.easy = h.get();
  if (t.progress) p.progress.emplace(std::cerr, ProgressLine::Style::Terminal, std::chrono::milliseconds(100));
  p.label = t.label;
  p.total = m.size;
  const CURLcode rc = curl_easy_perform(h.get());
  draw_progress(p, true);
  if (rc == CURLE_OK) return;
  if (p.write_errno)
    throw OutputError("cannot write '" + p.path + "': " + std::strerror(p.write_errno) + " (disk full?)");
  if (p.overflow || rc == CURLE_FILESIZE_EXCEEDED) {
    p.folder.remove(p.name);
    throw ModelError("GET " + where + " sent more than the " + std::to_string(m.size) +
                     " bytes the hub announced for " + excerpt(m.url) + "; stopped there and deleted the download");
  }
  long status = 0;
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &status);
  if (rc == CURLE_HTTP_RETURNED_ERROR) throw_http_error(status, header(h.get(), "X-Error-Code"), m.location, false);
  if (!p.bad_range.empty())
    throw ModelError("GET " + where + " asked for bytes " + range + " but got Content-Range " + excerpt(p.bad_range));
  if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
    throw ModelError("cannot reach the hub: " + curl_problem(rc, errors, m.location) +
                     "; use --offline (or HF_HUB_OFFLINE=1) to use the cache only");
  if (rc == CURLE_OPERATION_TIMEDOUT)
    throw ModelError("download stalled: under " + std::to_string(kMinimumRate) + " bytes/s from " + where + " for " +
                     std::to_string(t.stall_seconds) + " s" + kept(p) + " (VIT_CLASSIFY_HUB_TIMEOUT sets the wait)");
  throw ModelError("connection dropped after " + std::to_string(p.bytes) + " of " + std::to_string(m.size) +
                   " bytes of " + where + " (" + curl_problem(rc, errors, m.location) + ")" + kept(p));
}

bool is_sha256(const std::string& s) { return s.size() == 64 && is_blob_name(s); }

// The size, then for LFS files the digest; only then the final name.
void finish(const HubFileMetadata& m, Partial& p) {
  const std::string where = excerpt(m.location);
  if (p.bytes < m.size)
    throw ModelError("the server ended " + where + " after " + std::to_string(p.bytes) + " of " +
                     std::to_string(m.size) + " bytes" + kept(p));
  if (p.bytes > m.size) {
    p.folder.remove(p.name);
    throw ModelError("GET " + where + " sent " + std::to_string(p.bytes) + " bytes where the hub announced " +
                     std::to_string(m.size) + "; the download was deleted");
  }
  const std::string digest = p.digest();
  if (is_sha256(m.etag) && digest != m.etag) {
    p.folder.remove(p.name);
    throw ModelError("checksum mismatch for " + excerpt(m.url) + ": the hub's ETag says sha256 " + m.etag +
                     " but the " + std::to_string(p.bytes) + " bytes downloaded from " + where + " hash to " + digest +
                     "; the download was deleted (a proxy or mirror altering files?); try again");
  }
  ::close(p.fd);
  p.fd = -1;
  p.folder.rename(p.name, m.etag);
}

// A size header: decimal digits only (no sign, no "-1" read as 2^64-1).
uint64_t parse_size(const std::string& text, const std::string& url) {
  if (text.empty()) return 0;
  if (text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos)
    throw ModelError("HEAD " + excerpt(url) + " announced the size '" + excerpt(text) +
                     "', not a number of bytes (check HF_ENDPOINT or a proxy in between)");
  return std::strtoull(text.c_str(), nullptr, 10);
}

// A redirect's target: http or https only (never file://, gopher://, ...).
std::string checked_redirect(const std::string& from, const std::string& to) {
  if (is_http(to)) return to;
  throw ModelError("HEAD " + excerpt(from) + " redirected to '" + excerpt(to) +
                   "': only http and https are followed (check HF_ENDPOINT or a proxy in between)");
}

}  // namespace

std::string hub_model_info_url(const std::string& endpoint, const std::string& repo_id, const std::string& revision) {
  return endpoint + "/api/models/" + repo_id + "/revision/" + quote(revision);
}

std::string hub_resolve_url(const std::string& endpoint, const std::string& repo_id, const std::string& revision,
                            const std::string& filename) {
  // As hf_hub_url: the revision quoted whole ("refs/pr/1" -> "refs%2Fpr%2F1"), the file name's '/' kept.
  std::string file;
  for (size_t start = 0; start <= filename.size();) {
    const size_t slash = std::min(filename.find('/', start), filename.size());
    file += (start ? "/" : "") + quote(filename.substr(start, slash - start));
    start = slash + 1;
  }
  return endpoint + "/" + repo_id + "/resolve/" + quote(revision) + "/" + file;
}

HubHead head_hub_file(const std::string& url, const std::string& token, long stall_seconds) {
  const std::string token_origin = hub_origin(url);
  std::string current = url;
  for (int hop = 0; hop < 5; ++hop) {
    Easy h = make_easy();
    char errors[CURL_ERROR_SIZE];
    const Headers headers = common_options(h.get(), current, token, token_origin, stall_seconds, errors);
    curl_easy_setopt(h.get(), CURLOPT_NOBODY, 1L);
    const CURLcode rc = curl_easy_perform(h.get());
    if (rc != CURLE_OK) return {HubHeadOutcome::kUnreachable, {}, curl_problem(rc, errors, current)};
    long status = 0;
    char* redirect = nullptr;
    curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h.get(), CURLINFO_REDIRECT_URL, &redirect);
    HubFileMetadata m;
    m.url = url;
    m.commit = header(h.get(), "X-Repo-Commit");
    std::string etag = header(h.get(), "X-Linked-Etag");
    if (etag.empty()) etag = header(h.get(), "ETag");
    std::string size = header(h.get(), "X-Linked-Size");
    if (size.empty()) size = header(h.get(), "Content-Length");
    if (status >= 300 && status < 400 && redirect && etag.empty()) {
      current = checked_redirect(current, redirect);  // a renamed repository: ask again at its new address
      continue;
    }
    const std::string code = header(h.get(), "X-Error-Code");
    if (status == 404 && code != "RepoNotFound" && code != "RevisionNotFound") {
      if (!is_commit_hash(m.commit)) m.commit.clear();  // it names a folder of .no_exist/: a hash or nothing
      return {HubHeadOutcome::kMissing, m, ""};
    }
    if (status >= 400) throw_http_error(status, code, current, !token.empty());
    if (etag.empty() || m.commit.empty())
      throw ModelError("HEAD " + excerpt(current) + " answered without " +
                       (etag.empty() ? "an ETag" : "X-Repo-Commit") +
                       ": this does not look like a Hugging Face hub (check HF_ENDPOINT or a proxy in between)");
    // Each becomes a name in the cache: checked here, before anything is written.
    m.etag = blob_name_from_etag(etag, current);
    m.commit = commit_from_header(m.commit, current);
    m.size = parse_size(size, current);
    m.location = status >= 300 && status < 400 && redirect ? checked_redirect(current, redirect) : current;
    return {HubHeadOutcome::kFound, m, ""};
  }
  throw ModelError("HEAD " + excerpt(url) + ": too many redirects");
}

std::string get_hub_text(const std::string& url, const std::string& token, long stall_seconds) {
  Easy h = make_easy();
  char errors[CURL_ERROR_SIZE];
  const Headers headers = common_options(h.get(), url, token, hub_origin(url), stall_seconds, errors);
  std::string body;
  follow_redirects(h.get(), !token.empty());
  curl_easy_setopt(h.get(), CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(h.get(), CURLOPT_MAXFILESIZE_LARGE, kTextLimit);
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, on_text);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &body);
  const CURLcode rc = curl_easy_perform(h.get());
  long status = 0;
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &status);
  if (rc == CURLE_HTTP_RETURNED_ERROR) throw_http_error(status, header(h.get(), "X-Error-Code"), url, !token.empty());
  if (rc == CURLE_FILESIZE_EXCEEDED || rc == CURLE_WRITE_ERROR)  // on_text refuses only what is over the limit
    throw ModelError("GET " + excerpt(url) + " answered with more than " + std::to_string(kTextLimit >> 20) +
                     " MiB; a hub's answer is far smaller, so it was not read (check HF_ENDPOINT)");
  if (rc != CURLE_OK)
    throw ModelError("cannot reach the hub: " + curl_problem(rc, errors, url) +
                     "; use --offline (or HF_HUB_OFFLINE=1) to use the cache only");
  return body;
}

void download_blob(const HubFileMetadata& metadata, const BlobTarget& target) {
  if (!is_blob_name(metadata.etag))
    throw ModelError("the ETag '" + excerpt(metadata.etag) + "' of " + excerpt(metadata.url) +
                     " cannot name a file in the cache");
  const CacheFolder blobs(target.cache_dir, target.blobs);
  const CacheFolder locks(target.cache_dir, target.locks);
  const FileLock lock(locks, metadata.etag + ".lock");
  if (blobs.has_file(metadata.etag)) return;  // another process finished it while we waited
  Partial partial(blobs, metadata.etag, metadata.size);
  if (partial.bytes < metadata.size) transfer(metadata, target, partial);
  finish(metadata, partial);
}

}  // namespace vit
