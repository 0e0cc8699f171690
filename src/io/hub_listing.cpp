// What the Hugging Face cache holds, for `vit-classify models`, and the CLIP tokenizer files found
// in it; see include/vit/io/hub_listing.h.
#include "vit/io/hub_listing.h"

#include <sys/stat.h>

#include <algorithm>

#include "vit/io/files.h"
#include "vit/io/hub_paths.h"
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

// The bytes of the regular files under dir, links neither counted nor followed: a link into
// blobs/ is counted there, and a link that leaves the cache is not the cache's.
uint64_t bytes_under(const std::string& dir) {
  uint64_t bytes = 0;
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
  FolderWalk walk({true, FolderWalk::Links::kKeep});
  walk.enter(dir, st);
  for (FolderWalk::Entry e; walk.next(&e);)
    if (e.error == 0 && S_ISREG(e.st.st_mode)) bytes += static_cast<uint64_t>(e.st.st_size);
  return bytes;
}

// Repositories that hold the CLIP tokenizer as Hugging Face writes it (vocab.json, merges.txt):
// transformers' CLIP models and a laion open_clip repository that carries transformers' files too.
const char* const kClipTokenizerRepos[] = {"openai/clip-vit-base-patch32", "openai/clip-vit-base-patch16",
                                           "openai/clip-vit-large-patch14", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"};

bool newer(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
}

// What `models` shows of CACHE/models--ORG--NAME. Its bytes: the blobs (a partial download
// aside) and the regular files in snapshots/, which a cache as huggingface_hub writes it does
// not have (its snapshot files are links into blobs/) but a copy made with `scp -r` or
// `cp -rL` does (the links became files, blobs/ may be gone).
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
  m.bytes += bytes_under(dir + "/snapshots");
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

std::optional<std::pair<std::string, std::string>> cached_clip_tokenizer(const std::string& cache_dir) {
  for (const char* repo_id : kClipTokenizerRepos) {
    const std::string repo_dir = cache_dir + "/" + cache_repo_folder(repo_id);
    if (!is_directory(repo_dir)) continue;
    const std::string main = read_cache_ref(repo_dir, "main");
    std::vector<std::string> commits;  // main's snapshot first, then the others by name
    if (!main.empty()) commits.push_back(main);
    for (const auto& name : list_folder(repo_dir + "/snapshots", true))
      if (is_commit_hash(name) && name != main) commits.push_back(name);
    for (const auto& commit : commits) {
      const std::string snapshot = repo_dir + "/snapshots/" + commit;
      const std::string vocab = snapshot + "/vocab.json", merges = snapshot + "/merges.txt";
      if (snapshot_file_present(repo_dir, vocab) && snapshot_file_present(repo_dir, merges))
        return std::make_pair(vocab, merges);
    }
  }
  return std::nullopt;
}

}  // namespace vit
