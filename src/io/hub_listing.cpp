// What the Hugging Face cache holds, for `vit-classify models`; see include/vit/io/hub_listing.h.
#include "vit/io/hub_listing.h"

#include <sys/stat.h>

#include <algorithm>

#include "vit/io/files.h"
#include "vit/io/text.h"
#include "vit/io/walk.h"

namespace vit {

namespace {

// The files under dir as paths relative to it, sorted: regular files and links to regular
// files (a snapshot's files are links into blobs/); a link to a folder is not walked into.
std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> out;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return out;
  FolderWalk walk({true, FolderWalk::Links::kKeep});
  walk.enter(dir, st);
  for (FolderWalk::Entry e; walk.next(&e);) {
    struct stat target {};
    if (e.error == 0 && (S_ISREG(e.st.st_mode) ||
                         (S_ISLNK(e.st.st_mode) && ::stat(e.path.c_str(), &target) == 0 && S_ISREG(target.st_mode))))
      out.push_back(e.path.substr(dir.size() + 1));
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool newer(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
}

// What `models` shows of CACHE/models--ORG--NAME.
CachedModel describe_repo(const std::string& dir, const std::string& folder_name) {
  CachedModel m;
  for (size_t i = std::string("models--").size(); i < folder_name.size(); ++i) {
    const bool separator = folder_name.compare(i, 2, "--") == 0;  // names cannot hold "--"
    m.repo_id += separator ? '/' : folder_name[i];
    i += separator ? 1 : 0;
  }
  m.refs = files_under(dir + "/refs");
  struct timespec newest {};
  std::string newest_dir;
  for (const auto& name : list_folder(dir + "/snapshots", true)) {
    const std::string snapshot = dir + "/snapshots/" + name;
    struct stat st {};
    if (::stat(snapshot.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    m.commits.push_back(name);
    if (newest_dir.empty() || newer(st.st_mtim, newest)) newest = st.st_mtim, newest_dir = snapshot;
  }
  if (!newest_dir.empty()) m.files = files_under(newest_dir);
  for (const auto& name : list_folder(dir + "/blobs", true)) {
    struct stat st {};
    if (!ends_with(name, ".incomplete") && ::lstat((dir + "/blobs/" + name).c_str(), &st) == 0 && S_ISREG(st.st_mode))
      m.bytes += static_cast<uint64_t>(st.st_size);
  }
  return m;
}

}  // namespace

std::vector<CachedModel> list_cached_models(const std::string& cache_dir) {
  std::vector<CachedModel> out;
  for (const auto& name : list_folder(cache_dir, true))
    if (starts_with(name, "models--") && is_directory(cache_dir + "/" + name))
      out.push_back(describe_repo(cache_dir + "/" + name, name));
  std::sort(out.begin(), out.end(), [](const CachedModel& a, const CachedModel& b) { return a.repo_id < b.repo_id; });
  return out;
}

}  // namespace vit
