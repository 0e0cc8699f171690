// Listing and walking folders; see include/vit/io/walk.h.
#include "vit/io/walk.h"

#include <dirent.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vit {

std::vector<std::string> list_folder(const std::string& dir, bool hidden, int* error) {
  std::vector<std::string> names;
  if (error) *error = 0;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (error) *error = errno;
    return names;
  }
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == ".." || (name[0] == '.' && !hidden)) continue;
    names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::string join_path(const std::string& dir, const std::string& name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

void FolderWalk::enter(const std::string& dir, const struct stat& st) {
  const std::pair<dev_t, ino_t> id{st.st_dev, st.st_ino};
  for (const auto& f : stack_)
    if (f.id == id) {
      spdlog::warn("skipping '{}': a symlink loop (it is '{}' again)", dir, f.path);
      return;
    }
  if (!walked_.insert(id).second) {
    spdlog::info("skipping '{}': a folder already walked, reached again through a link", dir);
    return;
  }
  int error = 0;
  Frame frame{dir, list_folder(dir, options_.hidden, &error), 0, id};
  if (error) {
    spdlog::error("cannot read directory '{}': {}", dir, std::strerror(error));
    return;
  }
  stack_.push_back(std::move(frame));
}

bool FolderWalk::next(Entry* entry) {
  while (!stack_.empty()) {
    Frame& top = stack_.back();
    if (top.next >= top.names.size()) {
      stack_.pop_back();
      continue;
    }
    entry->path = join_path(top.path, top.names[top.next++]);
    const int rc = options_.links == Links::kFollow ? ::stat(entry->path.c_str(), &entry->st)
                                                    : ::lstat(entry->path.c_str(), &entry->st);
    entry->error = rc == 0 ? 0 : errno;
    if (rc == 0 && S_ISDIR(entry->st.st_mode)) {
      enter(entry->path, entry->st);
      continue;
    }
    return true;
  }
  return false;
}

}  // namespace vit
