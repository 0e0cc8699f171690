// What the Hugging Face cache holds (see vit/io/hub.h for its layout), for `vit-classify
// models`: each repository's refs, snapshots, files and size on disk; and the CLIP tokenizer's
// files when a repository that has them is cached.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vit {

// One repository in the cache.
struct CachedModel {
  std::string repo_id;
  std::vector<std::string> refs;     // "main", "v1.0", ... that point to a snapshot here
  std::vector<std::string> commits;  // snapshots present
  std::vector<std::string> files;    // the newest snapshot's files, by name
  uint64_t bytes = 0;                // its size on disk: blobs/, and the regular files in snapshots/
                                     // (a copy without links); links are neither counted nor followed
};

// The model repositories in the cache (models--*), sorted by id; an absent cache is empty.
std::vector<CachedModel> list_cached_models(const std::string& cache_dir);

// The paths of vocab.json and merges.txt (for text::ClipTokenizer::from_hugging_face) in a cached
// snapshot of one of the CLIP tokenizer repositories (openai/clip-vit-base-patch32,
// openai/clip-vit-base-patch16, openai/clip-vit-large-patch14,
// laion/CLIP-ViT-B-32-laion2B-s34B-b79K, in that order): the snapshot refs/main names, else any
// other, that holds both; nullopt when none does. cache_dir: HubSettings::cache_dir (see
// hub_cache_dir_from_environment). The cache's rules hold as for a model: a ref that is not a
// small file holding a commit hash, and a snapshot file resolving outside the repository's
// blobs/ (a link planted in a shared cache), throw ModelError.
std::optional<std::pair<std::string, std::string>> cached_clip_tokenizer(const std::string& cache_dir);

}  // namespace vit
