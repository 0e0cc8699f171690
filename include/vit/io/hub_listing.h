// What the Hugging Face cache holds (see vit/io/hub.h for its layout), for `vit-classify
// models`: each repository's refs, snapshots, files and size on disk.
#pragma once

#include <cstdint>
#include <string>
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

}  // namespace vit
