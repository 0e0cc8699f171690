// Default model lookup; see include/vit/app/model_discovery.h.
#include "vit/app/model_discovery.h"

#include <dirent.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "vit/errors.h"
#include "vit/io/files.h"

namespace vit {

namespace {

bool is_model_name(const std::string& name) {
  for (const std::string e : {".safetensors", ".pth", ".pt", ".bin", ".ts"})
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) return true;
  return false;
}

std::vector<std::string> models_in(const std::string& dir) {
  std::vector<std::string> found;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name[0] != '.' && is_model_name(name) && is_regular_file(dir + "/" + name)) found.push_back(dir + "/" + name);
    }
    ::closedir(d);
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::string exe_dir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  return dir_name(std::string(buf, static_cast<size_t>(n)));
}

}  // namespace

std::string default_model_path() {
  if (const char* env = std::getenv("VIT_CLASSIFY_MODEL"); env && *env) return env;
  const std::vector<std::string> dirs{"models", exe_dir() + "/../models", exe_dir() + "/models",
                                      VIT_CLASSIFY_SOURCE_DIR "/models"};
  for (const auto& dir : dirs) {
    const auto found = models_in(dir);
    if (found.empty()) continue;
    for (const auto& f : found)
      if (base_name(f).rfind("default", 0) == 0) return f;
    if (found.size() > 1) spdlog::info("several models in {}; using {} (pass -m to choose)", dir, found.front());
    return found.front();
  }
  throw UsageError(
      "no model given: pass -m PATH (a .safetensors, .pth or TorchScript file), set VIT_CLASSIFY_MODEL, "
      "or fetch one into models/ with scripts/fetch_models.py (needs internet)");
}

}  // namespace vit
