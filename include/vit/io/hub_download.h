// The hub's HTTP side (libcurl), as huggingface_hub's file_download.py speaks it: a file's
// metadata from a HEAD on its resolve URL, and its bytes downloaded into the cache's blobs/
// resumably, checked against the ETag and renamed into place under a lock.
#pragma once

#include <cstdint>
#include <string>

namespace vit {

// {endpoint}/{repo_id}/resolve/{revision}/{filename}, the revision and file name URL-quoted.
std::string hub_resolve_url(const std::string& endpoint, const std::string& repo_id, const std::string& revision,
                            const std::string& filename);

// {endpoint}/api/models/{repo_id}/revision/{revision}: the repository's file list (JSON "siblings").
std::string hub_model_info_url(const std::string& endpoint, const std::string& repo_id, const std::string& revision);

// What a HEAD on a resolve URL said about the file.
struct HubFileMetadata {
  std::string url;       // the resolve URL asked
  std::string commit;    // X-Repo-Commit: the commit the revision points to now (40 hex digits)
  std::string etag;      // X-Linked-Etag, else ETag, without W/ and quotes: sha256 (64 hex digits) for LFS
                         // files, else the git sha1 (40)
  uint64_t size = 0;     // X-Linked-Size, else Content-Length (decimal digits)
  std::string location;  // where the bytes are: the redirect's target (LFS: a CDN), else url; http(s) only
};

enum class HubHeadOutcome {
  kFound,
  kMissing,      // the repository and revision exist, this file does not (404 EntryNotFound)
  kUnreachable,  // no answer: connection refused, DNS, timeout
};

struct HubHead {
  HubHeadOutcome outcome = HubHeadOutcome::kUnreachable;
  HubFileMetadata metadata;  // kFound; for kMissing the commit, when the server named it
  std::string problem;       // kUnreachable: what went wrong, with the URL
};

// HEAD url, following a relative redirect that carries no file metadata (a renamed repository)
// but not the redirect of an LFS file to its CDN, whose target becomes metadata.location. The
// token goes as "Authorization: Bearer" to url's origin (scheme, host, port) only. Throws
// ModelError naming the URL for 401/403 (gated, private or unknown repository: how to give a
// token), a repository or revision that does not exist, an answer without ETag or commit, an
// ETag, commit or size that is not what the hub sends (each becomes a name in the cache), a
// redirect to anything but http or https, and other HTTP errors. Server text in a message is
// shortened to 200 bytes.
HubHead head_hub_file(const std::string& url, const std::string& token, long stall_seconds);

// GET url's body (a small JSON answer such as the API's file list), at most 16 MiB. Throws
// ModelError.
std::string get_hub_text(const std::string& url, const std::string& token, long stall_seconds);

// Where download_blob puts a file, and how. Every folder below cache_dir is entered without
// following a symlink, and every file is opened from its folder with O_NOFOLLOW.
struct BlobTarget {
  std::string cache_dir;    // CACHE
  std::string blobs;        // "models--ORG--NAME/blobs": the blob is blobs/ETAG
  std::string locks;        // ".locks/models--ORG--NAME": the lock is locks/ETAG.lock
  std::string token;        // sent to the origin of metadata.url only, never after a redirect elsewhere
  bool progress = false;    // a progress line on stderr
  std::string label;        // the file's name on that line
  long stall_seconds = 60;  // under 1 KB/s this long, the transfer is abandoned (HubSettings::stall_seconds)
};

// Makes blobs/ETAG hold the file's bytes: under an flock of locks/ETAG.lock (so that a second
// process waits, then finds the blob done), GETs metadata.location into blobs/ETAG.incomplete,
// resuming a partial file with Range (restarting when the server ignores it), stops at the
// announced size, checks the size and, for a sha256 ETag, the digest, then renames it into
// place. Throws ModelError naming the URL: a dropped connection or a stall (the .incomplete
// file is kept and resumes next time), a wrong size or digest or a body longer than announced
// (the download is deleted; the message names both digests), HTTP errors, a symlink, FIFO or
// hard link planted where the lock or the .incomplete file goes; OutputError when the cache
// cannot be written.
void download_blob(const HubFileMetadata& metadata, const BlobTarget& target);

// "scheme://host:port" of url, lowercase, with the scheme's default port; "" when it is not a
// URL. The token goes only to requests whose origin is the endpoint's.
std::string hub_origin(const std::string& url);

}  // namespace vit
