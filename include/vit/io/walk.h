// Listing and walking folders, written once for everything that does: classify -r's inputs,
// eval's ImageFolder classes, a model folder's files, the Hugging Face cache's listing. Each
// caller says whether names starting with '.' count and whether links are followed.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace vit {

// The names in the folder dir, sorted bytewise ("." and ".." never; other names starting with
// '.' only when hidden). When it cannot be read: empty, with its errno in *error (0 otherwise).
std::vector<std::string> list_folder(const std::string& dir, bool hidden, int* error = nullptr);

// "a" + "b" -> "a/b" ("a/" + "b" -> "a/b").
std::string join_path(const std::string& dir, const std::string& name);

// A depth-first walk of folders in name order, one entry at a time: it holds one listing per
// level, never the whole tree (a folder of a million images costs a million names, once).
class FolderWalk {
 public:
  enum class Links {
    kFollow,  // entries are stat()ed through links; a link to a folder is walked into (each
              // folder once: a loop of links, or a folder reached again by another path, is
              // skipped with a log line)
    kKeep,    // entries are lstat()ed: a link is an entry of its own (S_ISLNK), never walked into
  };
  struct Options {
    bool hidden = false;  // names starting with '.'
    Links links = Links::kFollow;
  };
  struct Entry {
    std::string path;   // the folder's path joined with the names down to it
    struct stat st {};  // as Links says; valid when error is 0
    int error = 0;      // errno of the stat (ENOENT: a dangling link, or a file removed since)
  };

  explicit FolderWalk(Options options) : options_(options) {}
  // Adds the folder dir, whose stat is st, to the walk (its entries come next).
  void enter(const std::string& dir, const struct stat& st);
  // The next entry that is not a folder (folders are walked into as they come); false at the end.
  bool next(Entry* entry);

 private:
  struct Frame {
    std::string path;
    std::vector<std::string> names;  // sorted
    size_t next = 0;
    std::pair<dev_t, ino_t> id;
  };
  Options options_;
  std::vector<Frame> stack_;  // the folders being walked: the ancestry, for loop detection
  // Every folder walked so far: a graph of folders and links that is no loop can still reach
  // one folder by 2^n paths (n links to a pair of folders); each is walked once.
  std::set<std::pair<dev_t, ino_t>> walked_;
};

}  // namespace vit
