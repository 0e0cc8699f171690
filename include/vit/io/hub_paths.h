// What the hub code checks before a name from a server or from the cache becomes a path, and
// how it writes into the cache without ever following a symlink planted there (a shared cache
// is writable by others): every folder below the cache root is entered one part at a time
// with O_NOFOLLOW, and every file is opened or created from that folder's descriptor.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

namespace vit {

// Text from a server or a file, fit for a message: at most `limit` bytes (then "..."), with
// control and non-ASCII bytes written \xNN.
std::string excerpt(const std::string& text, size_t limit = 200);

// The first line of text without surrounding blanks (a ref, a token file).
std::string trimmed_first_line(const std::string& text);

// A commit hash: 40 lowercase hex digits.
bool is_commit_hash(const std::string& s);
// A blob's name in the cache: an ETag that is a git sha1 (40) or a sha256 (64), lowercase hex.
bool is_blob_name(const std::string& s);
// A file name from a repository's file list: relative, '/'-separated parts, none empty, "."
// or "..", no backslash, NUL or other control byte, at most 1024 bytes and 255 a part.
bool is_safe_repo_file(const std::string& name);

// huggingface_hub's _normalize_etag (W/"abc" and "abc" -> abc), then is_blob_name; throws
// ModelError quoting the value (shortened) and the URL when it is anything else.
std::string blob_name_from_etag(const std::string& header_value, const std::string& url);
// An X-Repo-Commit value: is_commit_hash, else ModelError quoting it.
std::string commit_from_header(const std::string& header_value, const std::string& url);

// The .pth files a repository's file list (the hub's /api/models/... JSON: "siblings", each
// with an "rfilename") names; ModelError, quoting the name (shortened) and the URL, for a name
// that is_safe_repo_file refuses. Anything that is not such a list names none.
std::vector<std::string> listed_pth_files(const std::string& body, const std::string& url);

// A small file read whole: regular files only (not a FIFO, a device such as /dev/zero, or a
// folder), at most `limit` bytes. `found` is false when the file does not exist; `problem` says
// why it was refused (too long, not a regular file, unreadable).
struct SmallFile {
  bool found = false;
  std::string text;
  std::string problem;
};
SmallFile read_small_file(const std::string& path, size_t limit);

// "models--ORG--NAME": a repository's folder in the cache (repo_id already validated).
std::string cache_repo_folder(const std::string& repo_id);
// The commit repo_dir/refs/REVISION names; "" when absent or empty. A ref that is not a small
// regular file (at most 256 bytes) holding a commit hash (a link to /dev/zero, a huge file,
// other text) throws ModelError, never read whole.
std::string read_cache_ref(const std::string& repo_dir, const std::string& revision);

// A folder below the cache root, held open. The root is opened as given (links the user made
// are theirs to make); each part of `relative` below it must be a real folder, created when
// absent, never a symlink. Throws ModelError for a symlink in the way, OutputError when a
// folder cannot be made or opened.
class CacheFolder {
 public:
  CacheFolder(const std::string& root, const std::string& relative);
  ~CacheFolder();
  CacheFolder(const CacheFolder&) = delete;
  CacheFolder& operator=(const CacheFolder&) = delete;

  const std::string& path() const { return path_; }
  // `name` in this folder, opened without following a symlink, O_NONBLOCK (a planted FIFO
  // cannot hang it); it must be a regular file with one link (a hard link to another file is
  // refused). Throws ModelError for a link or another kind of file, OutputError otherwise.
  int open_file(const std::string& name, int flags, mode_t mode) const;
  // A regular file, not a symlink.
  bool has_file(const std::string& name) const;
  // name -> target; an existing link to the same target is kept, another link replaced.
  void make_symlink(const std::string& target, const std::string& name) const;
  void rename(const std::string& from, const std::string& to) const;
  void remove(const std::string& name) const;
  // Through a temporary file created O_EXCL in this folder and a rename.
  void write_atomic(const std::string& name, const std::string& bytes) const;

 private:
  std::string path_;
  int fd_ = -1;
};

// A file in a snapshot of repo_dir before it is read: false when absent (or a dangling link);
// true for a symlink that resolves to a regular file in repo_dir/blobs/, or a regular file
// inside repo_dir; anything else (a link to a file elsewhere, planted in a shared cache)
// throws ModelError.
bool snapshot_file_present(const std::string& repo_dir, const std::string& path);

}  // namespace vit
