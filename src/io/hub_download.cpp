// The hub's HTTP side; see include/vit/io/hub_download.h.
#include "vit/io/hub_download.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "vit/errors.h"
#include "vit/io/files.h"
#include "vit/io/sha256.h"

namespace vit {

namespace {

using Easy = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using Headers = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;
using Clock = std::chrono::steady_clock;

Easy make_easy() {
  // curl_global_init is not thread-safe in older libcurls: once, before the first handle.
  static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL* h = init == CURLE_OK ? curl_easy_init() : nullptr;
  if (!h) throw ModelError("cannot start libcurl (curl_global_init / curl_easy_init failed)");
  return Easy(h, curl_easy_cleanup);
}

std::string host_of(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  char* host = nullptr;
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK ||
      curl_url_get(u.get(), CURLUPART_HOST, &host, 0) != CURLUE_OK)
    return "";
  std::string h = host;
  curl_free(host);
  return h;
}

// Options every request shares. `token` is sent only when the request goes to token_host;
// curl itself drops a custom Authorization header when it follows a redirect to another host.
Headers common_options(CURL* h, const std::string& url, const std::string& token, const std::string& token_host,
                       char* errors) {
  static const std::string agent = std::string("vit-classify; libcurl/") + curl_version_info(CURLVERSION_NOW)->version;
  curl_slist* list = curl_slist_append(nullptr, "Accept-Encoding: identity");  // sizes are the file's own
  if (!token.empty() && host_of(url) == token_host)
    list = curl_slist_append(list, ("Authorization: Bearer " + token).c_str());
  const long stall = hub_stall_seconds();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_USERAGENT, agent.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, std::min(stall, 10L));
  // A server that stops sending (under 1 byte/s for `stall` seconds) cannot hang us forever.
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, stall);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errors);
  errors[0] = '\0';
  return Headers(list, curl_slist_free_all);
}

std::string header(CURL* h, const char* name) {
  curl_header* out = nullptr;
  if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &out) != CURLHE_OK || !out) return "";
  return out->value;
}

// huggingface_hub's _normalize_etag: W/"abc" and "abc" -> abc.
std::string normalize_etag(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag = etag.substr(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

std::string curl_problem(CURLcode rc, const char* errors, const std::string& url) {
  return std::string(errors[0] ? errors : curl_easy_strerror(rc)) + " (" + url + ")";
}

[[noreturn]] void throw_http_error(long status, const std::string& error_code, const std::string& url, bool had_token) {
  const std::string at = "HTTP " + std::to_string(status) + " from " + url + ": ";
  if (status == 401 || status == 403) {
    throw ModelError(at +
                     (had_token ? "the token given (HF_TOKEN or the token file) may not read this repository; "
                                  "if it is gated, ask for access on its page"
                                : "the repository is gated or private (or does not exist); set HF_TOKEN to "
                                  "an access token or log in with `huggingface-cli login`") +
                     (error_code.empty() ? "" : " [" + error_code + "]"));
  }
  if (status == 404 && error_code == "RepoNotFound")
    throw ModelError(at + "no such repository on the hub (check the id's spelling)");
  if (status == 404 && error_code == "RevisionNotFound")
    throw ModelError(at + "no such revision (branch, tag or commit) in the repository");
  if (status == 404) throw ModelError(at + "no such file");
  throw ModelError(at + "the server refused the request" + (error_code.empty() ? "" : " [" + error_code + "]"));
}

// An flock held for the object's life. huggingface_hub's FileLock takes the same kind of lock on
// the same file, so a Python process and we also exclude each other.
class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    make_dirs(dir_name(path));
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw OutputError("cannot open the lock file '" + path + "': " + std::strerror(errno));
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
  std::string path;
  int fd = -1;
  uint64_t bytes = 0;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> sha{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  CURL* easy = nullptr;
  bool started = false;  // the first body bytes have come (the status is checked then)
  std::string bad_range;
  int write_errno = 0;
  // The progress line.
  bool progress = false;
  std::string label;
  uint64_t total = 0, first_byte = 0;
  Clock::time_point begin = Clock::now(), drawn{};

  Partial(std::string p, uint64_t expected);
  ~Partial() {
    if (fd >= 0) ::close(fd);
  }
  void restart();
  std::string digest();
};

Partial::Partial(std::string p, uint64_t expected) : path(std::move(p)) {
  fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) throw OutputError("cannot open '" + path + "': " + std::strerror(errno));
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
  const auto now = Clock::now();
  if (!done && now - p.drawn < std::chrono::milliseconds(100)) return;
  p.drawn = now;
  const double seconds = std::chrono::duration<double>(now - p.begin).count();
  const double rate = seconds > 0 ? static_cast<double>(p.bytes - p.first_byte) / seconds / 1e6 : 0.0;
  const int percent = p.total ? static_cast<int>(100.0 * static_cast<double>(p.bytes) / p.total) : 100;
  std::fprintf(stderr, "\r%s  %.1f / %.1f MB  %3d%%  %.1f MB/s  ", p.label.c_str(), p.bytes / 1e6, p.total / 1e6,
               percent, rate);
  if (done) std::fputc('\n', stderr);
  std::fflush(stderr);
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
  if (p.progress) draw_progress(p, false);
  return length;
}

size_t on_text(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
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
  const Headers headers = common_options(h.get(), m.location, t.token, host_of(m.url), errors);
  const std::string range = std::to_string(p.bytes) + "-";
  if (p.bytes > 0) curl_easy_setopt(h.get(), CURLOPT_RANGE, range.c_str());
  curl_easy_setopt(h.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h.get(), CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(h.get(), CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(h.get(), CURLOPT_BUFFERSIZE, 512L * 1024);  // few, large writes: as fast as curl -o
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &p);
  p.easy = h.get();
  p.progress = t.progress;
  p.label = t.label;
  p.total = m.size;
  const CURLcode rc = curl_easy_perform(h.get());
  if (p.progress) draw_progress(p, true);
  if (rc == CURLE_OK) return;
  if (p.write_errno)
    throw OutputError("cannot write '" + p.path + "': " + std::strerror(p.write_errno) + " (disk full?)");
  long status = 0;
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &status);
  if (rc == CURLE_HTTP_RETURNED_ERROR) throw_http_error(status, header(h.get(), "X-Error-Code"), m.location, false);
  if (!p.bad_range.empty())
    throw ModelError("GET " + m.location + " asked for bytes " + range + " but got Content-Range " + p.bad_range);
  if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
    throw ModelError("cannot reach the hub: " + curl_problem(rc, errors, m.location) +
                     "; use --offline (or HF_HUB_OFFLINE=1) to use the cache only");
  if (rc == CURLE_OPERATION_TIMEDOUT)
    throw ModelError("download stalled: nothing from " + m.location + " for " + std::to_string(hub_stall_seconds()) +
                     " s" + kept(p) + " (VIT_CLASSIFY_HUB_TIMEOUT sets the wait)");
  throw ModelError("connection dropped after " + std::to_string(p.bytes) + " of " + std::to_string(m.size) +
                   " bytes of " + m.location + " (" + curl_problem(rc, errors, m.location) + ")" + kept(p));
}

bool is_sha256(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The size, then for LFS files the digest; only then the final name.
void finish(const HubFileMetadata& m, Partial& p, const std::string& blob_path) {
  if (p.bytes < m.size)
    throw ModelError("the server ended " + m.location + " after " + std::to_string(p.bytes) + " of " +
                     std::to_string(m.size) + " bytes" + kept(p));
  if (p.bytes > m.size) {
    ::unlink(p.path.c_str());
    throw ModelError("GET " + m.location + " sent " + std::to_string(p.bytes) + " bytes where the hub announced " +
                     std::to_string(m.size) + "; the download was deleted");
  }
  const std::string digest = p.digest();
  if (is_sha256(m.etag) && digest != m.etag) {
    ::unlink(p.path.c_str());
    throw ModelError("checksum mismatch for " + m.url + ": the hub's ETag says sha256 " + m.etag + " but the " +
                     std::to_string(p.bytes) + " bytes downloaded from " + m.location + " hash to " + digest +
                     "; the download was deleted (a proxy or mirror altering files?); try again");
  }
  ::close(p.fd);
  p.fd = -1;
  if (std::rename(p.path.c_str(), blob_path.c_str()) != 0)
    throw OutputError("cannot rename '" + p.path + "' to '" + blob_path + "': " + std::strerror(errno));
}

}  // namespace

long hub_stall_seconds() {
  const char* text = std::getenv("VIT_CLASSIFY_HUB_TIMEOUT");
  const long seconds = text ? std::atol(text) : 0;
  return seconds > 0 ? seconds : 60;
}

namespace {
std::string quote(const std::string& s) {
  char* q = curl_escape(s.c_str(), static_cast<int>(s.size()));
  std::string r = q ? q : s;
  curl_free(q);
  return r;
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

HubHead head_hub_file(const std::string& url, const std::string& token) {
  const std::string token_host = host_of(url);
  std::string current = url;
  for (int hop = 0; hop < 5; ++hop) {
    Easy h = make_easy();
    char errors[CURL_ERROR_SIZE];
    const Headers headers = common_options(h.get(), current, token, token_host, errors);
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
    m.etag = normalize_etag(header(h.get(), "X-Linked-Etag"));
    if (m.etag.empty()) m.etag = normalize_etag(header(h.get(), "ETag"));
    std::string size = header(h.get(), "X-Linked-Size");
    if (size.empty()) size = header(h.get(), "Content-Length");
    m.size = std::strtoull(size.c_str(), nullptr, 10);
    if (status >= 300 && status < 400 && redirect && m.etag.empty()) {
      current = redirect;  // a renamed repository: ask again at its new address
      continue;
    }
    const std::string code = header(h.get(), "X-Error-Code");
    if (status == 404 && code != "RepoNotFound" && code != "RevisionNotFound") return {HubHeadOutcome::kMissing, m, ""};
    if (status >= 400) throw_http_error(status, code, current, !token.empty());
    if (m.etag.empty() || m.commit.empty())
      throw ModelError("HEAD " + current + " answered without " + (m.etag.empty() ? "an ETag" : "X-Repo-Commit") +
                       ": this does not look like a Hugging Face hub (check HF_ENDPOINT or a proxy in between)");
    m.location = status >= 300 && status < 400 && redirect ? redirect : current;
    return {HubHeadOutcome::kFound, m, ""};
  }
  throw ModelError("HEAD " + url + ": too many redirects");
}

std::string get_hub_text(const std::string& url, const std::string& token) {
  Easy h = make_easy();
  char errors[CURL_ERROR_SIZE];
  const Headers headers = common_options(h.get(), url, token, host_of(url), errors);
  std::string body;
  curl_easy_setopt(h.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h.get(), CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(h.get(), CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, on_text);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &body);
  const CURLcode rc = curl_easy_perform(h.get());
  long status = 0;
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &status);
  if (rc == CURLE_HTTP_RETURNED_ERROR) throw_http_error(status, header(h.get(), "X-Error-Code"), url, !token.empty());
  if (rc != CURLE_OK)
    throw ModelError("cannot reach the hub: " + curl_problem(rc, errors, url) +
                     "; use --offline (or HF_HUB_OFFLINE=1) to use the cache only");
  return body;
}

void download_blob(const HubFileMetadata& metadata, const BlobTarget& target) {
  make_dirs(dir_name(target.blob_path));
  const FileLock lock(target.lock_path);
  if (is_regular_file(target.blob_path)) return;  // another process finished it while we waited
  Partial partial(target.blob_path + ".incomplete", metadata.size);
  if (partial.bytes < metadata.size) transfer(metadata, target, partial);
  finish(metadata, partial, target.blob_path);
}

}  // namespace vit
