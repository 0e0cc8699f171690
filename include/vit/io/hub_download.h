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
  std::string commit;    // X-Repo-Commit: the commit the revision points to now
  std::string etag;      // X-Linked-Etag, else ETag, without W/ and quotes: sha256 for LFS files
  uint64_t size = 0;     // X-Linked-Size, else Content-Length
  std::string location;  // where the bytes are: the redirect's target (LFS: a CDN), else url
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
// token goes as "Authorization: Bearer" to url's host only. Throws ModelError naming the URL for
// 401/403 (gated, private or unknown repository: how to give a token), a repository or
// revision that does not exist, an answer without ETag or commit, and other HTTP errors.
HubHead head_hub_file(const std::string& url, const std::string& token);

// GET url's body (a small JSON answer such as the API's file list). Throws ModelError.
std::string get_hub_text(const std::string& url, const std::string& token);

// Where download_blob puts a file, and how.
struct BlobTarget {
  std::string blob_path;  // CACHE/models--ORG--NAME/blobs/ETAG
  std::string lock_path;  // CACHE/.locks/models--ORG--NAME/ETAG.lock
  std::string token;      // sent to the host of metadata.url only, never after a redirect elsewhere
  bool progress = false;  // a progress line on stderr
  std::string label;      // the file's name on that line
};

// Makes target.blob_path hold the file's bytes: under an flock of lock_path (so that a second
// process waits, then finds the blob done), GETs metadata.location into blob_path.incomplete,
// resuming a partial file with Range (restarting when the server ignores it), checks the size
// and, for a sha256 ETag, the digest, then renames it into place. Throws ModelError naming the
// URL: a dropped connection or a stall (the .incomplete file is kept and resumes next time), a
// wrong size or digest (the download is deleted; the message names both digests), HTTP
// errors; OutputError when the cache cannot be written.
void download_blob(const HubFileMetadata& metadata, const BlobTarget& target);

// Seconds a transfer may go without a byte before it is abandoned: $VIT_CLASSIFY_HUB_TIMEOUT,
// else 60. The connect timeout is the smaller of this and 10.
long hub_stall_seconds();

}  // namespace vit
