// Small file-system helpers shared by the layers above: path parts, folders, and writing a
// file so that it is never seen half-written.
#pragma once

#include <sys/stat.h>

#include <string>

namespace vit {

// "a/b/c.png" -> "c.png"; "a/b/" -> "".
std::string base_name(const std::string& path);
// "a/b/c.png" -> "a/b"; "c.png" -> ".".
std::string dir_name(const std::string& path);
bool is_directory(const std::string& path);
bool is_regular_file(const std::string& path);
bool path_exists(const std::string& path);

// The environment variable's value, "" when it is unset.
std::string environment_value(const char* name);
// $HOME, else the password database's home for this user; "" when neither says.
std::string home_directory();
// "~" and "~/rest" with the home folder put in ("" when home_directory() is ""); other paths as given.
std::string expand_home(const std::string& path);

// A file opened read-only without blocking (a FIFO named in place of a file cannot hang the
// open), with fstat of that descriptor: the file checked is the file read. Closed on
// destruction. Throws nothing: when the open or the fstat failed, error() is its errno.
class ReadOnlyFile {
 public:
  explicit ReadOnlyFile(const std::string& path);
  ~ReadOnlyFile();
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;
  int fd() const { return fd_; }
  int error() const { return error_; }  // 0 when open and stat succeeded
  const struct stat& stat() const { return st_; }

 private:
  int fd_ = -1;
  int error_ = 0;
  struct stat st_ {};
};

// Creates dir and its parents. Throws OutputError when one cannot be made or is not a folder.
void make_dirs(const std::string& dir);
// Writes bytes to path through a temporary file in the same folder and a rename; several
// threads may write one path at once (each call has its own temporary file). Throws OutputError.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace vit
