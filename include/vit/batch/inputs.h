// Where the images to classify come from: command-line paths, directories (optionally
// recursive), and --files-from lists (newline or NUL separated, or stdin), enumerated
// lazily in a stable order so a million inputs cost no memory up front; plus --shard K/N.
#pragma once

#include <atomic>
#include <cstdint>
#include <istream>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace vit {

// --shard K/N: the inputs whose position (counting every input, from 0) is K-1 modulo N.
struct Shard {
  int index = 0;  // K-1
  int count = 1;  // N
};

struct InputOptions {
  std::vector<std::string> paths;       // files and directories from the command line
  std::string files_from;               // "" = none, "-" = stdin, else a file
  bool null_separated = false;          // -0: --files-from entries end with NUL
  bool recursive = false;               // -r: descend into directories
  bool hidden = false;                  // include names starting with '.' found in directories
  std::vector<std::string> extensions;  // lower case, no dot; used for files found in directories
  Shard shard;
};

// Image types OpenCV 4.6 decodes (the default --ext).
const std::vector<std::string>& default_extensions();

// One input: a path to classify, or a path that cannot be (error set: a directory given
// without -r, a symlink loop), which still gets its record.
struct InputItem {
  std::string path;
  std::string error;
};

// Yields inputs in order: command-line paths first, then --files-from entries. Entries of a
// directory are visited in byte order of their names; a subdirectory's images come where its
// name sorts. Thread-compatible (one reader at a time).
// A --files-from list that is no regular file (a FIFO, a pipe, the terminal) is read as its
// lines arrive, waiting for more; set_stop's flag ends that wait (next() then returns false and
// stopped() is true), so Ctrl-C never hangs on a list that is still open.
class InputStream {
 public:
  explicit InputStream(const InputOptions& options, std::istream* stdin_stream = nullptr);
  ~InputStream();
  bool next(InputItem& item);  // false at the end, or once the stop flag is set
  void set_stop(const std::atomic<bool>* stop);
  bool stopped() const;  // next() returned false because of the stop flag
  // True when every input was a plain file named on the command line (total known).
  bool total_known() const;
  size_t known_total() const;
  // Regular files met in directories and left out for their extension, so far.
  size_t skipped_by_extension() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vit
