// Finding the model file; see include/vit/app/model_discovery.h.
#include "vit/app/model_discovery.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "vit/errors.h"
#include "vit/io/files.h"
#include "vit/io/hub.h"
#include "vit/io/hub_paths.h"
#include "vit/io/text.h"
#include "vit/io/walk.h"

namespace vit {

namespace {

bool is_model_name(const std::string& name) {
  for (const std::string e : {".safetensors", ".pth", ".pt", ".bin", ".ts"})
    if (ends_with(name, e)) return true;
  return false;
}

std::vector<std::string> entries_of(const std::string& dir) { return list_folder(dir, false); }

std::vector<std::string> models_in(const std::string& dir) {
  std::vector<std::string> found;
  for (const auto& name : entries_of(dir))
    if (is_model_name(name) && is_regular_file(dir + "/" + name)) found.push_back(dir + "/" + name);
  return found;
}

std::string exe_dir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  return dir_name(std::string(buf, static_cast<size_t>(n)));
}

// The checkout this executable was built from, when it runs from its build tree: the folder
// beside it holds CMakeCache.txt, whose CMAKE_HOME_DIRECTORY names the sources. "" for an
// installed executable. (Decided by where the executable is, not by a path compiled in.)
std::string checkout_of(const std::string& exe_folder) {
  const SmallFile cache = read_small_file(exe_folder + "/CMakeCache.txt", 1 << 20);
  const std::string key = "\nCMAKE_HOME_DIRECTORY:INTERNAL=";
  const std::string text = "\n" + cache.text;
  const auto at = cache.problem.empty() ? text.find(key) : std::string::npos;
  if (at == std::string::npos) return "";
  const auto start = at + key.size();
  return text.substr(start, text.find('\n', start) - start);
}

// The user's data folder for vit-classify: $XDG_DATA_HOME/vit-classify, else
// ~/.local/share/vit-classify (as the XDG base directory specification puts it).
std::string user_data_dir() {
  const std::string xdg = environment_value("XDG_DATA_HOME");
  if (!xdg.empty() && xdg.front() == '/') return xdg + "/vit-classify";
  return home_directory() + "/.local/share/vit-classify";
}

// The folders a model is looked for in without -m and $VIT_CLASSIFY_MODEL, in order: for an
// executable run from its build tree, models/ of the working directory and of its checkout,
// then the user's data folder; for an installed one, the user's data folder and the install
// prefix's.
std::vector<std::string> model_folders() {
  const std::string exe = exe_dir();
  std::vector<std::string> dirs;
  const std::string checkout = checkout_of(exe);
  if (!checkout.empty()) {
    dirs.push_back("models");
    dirs.push_back(checkout + "/models");
  }
  dirs.push_back(user_data_dir() + "/models");
  if (checkout.empty()) dirs.push_back(dir_name(exe) + "/share/vit-classify/models");  // PREFIX/bin/..
  return dirs;
}

// Text that is meant as a path, not a repository id: it starts like one, or names a file type.
bool looks_like_path(const std::string& text) {
  return text.empty() || text[0] == '/' || text[0] == '.' || text[0] == '~' || is_model_name(text) ||
         ends_with(text, ".json");
}

std::string from_hub(const std::string& text, const HubReference& ref, bool offline, HubOrigin* origin) {
  HubSettings settings = hub_settings_from_environment();
  settings.offline = settings.offline || offline;
  settings.progress = ::isatty(STDERR_FILENO) == 1 && spdlog::should_log(spdlog::level::info);
  spdlog::info("'{}' is not a file here: looking for the Hugging Face repository {}{} in {}", text, ref.repo_id,
               ref.revision.empty() ? "" : " at " + ref.revision, settings.cache_dir);
  const HubModel model = fetch_hub_model(ref, settings);
  spdlog::info("{} is commit {}: {}", ref.repo_id, model.commit, model.weights);
  if (origin) *origin = {ref.repo_id, ref.revision.empty() ? "main" : ref.revision, model.commit};
  return model.weights;
}

}  // namespace

HubSettings hub_settings_from_environment() {
  HubSettings settings = HubSettings::from_environment();
  const char* text = std::getenv("VIT_CLASSIFY_HUB_TIMEOUT");
  const long seconds = text ? std::atol(text) : 0;
  settings.stall_seconds = seconds > 0 ? seconds : 60;
  return settings;
}

std::string model_in_folder(const std::string& dir) {
  for (const auto& name : model_weights_names())  // open_clip_model.safetensors, model.safetensors, ...
    if (is_regular_file(dir + "/" + name)) return dir + "/" + name;
  const std::vector<std::string> found = models_in(dir);
  if (found.size() == 1) return found.front();
  std::string listing;
  for (const auto& name : entries_of(dir)) listing += (listing.empty() ? "" : ", ") + name;
  if (found.empty())
    throw ModelError("the folder '" + dir + "' holds no model: expected open_clip_model.safetensors, " +
                     "model.safetensors, open_clip_pytorch_model.bin or pytorch_model.bin (with config.json or " +
                     "open_clip_config.json beside it), or one .safetensors/.pth/.pt/.bin/.ts file; it holds: " +
                     (listing.empty() ? "nothing" : listing));
  throw ModelError("the folder '" + dir + "' holds " + std::to_string(found.size()) +
                   " weights files and no open_clip_model.safetensors, model.safetensors, " +
                   "open_clip_pytorch_model.bin or pytorch_model.bin: pass -m with the one to use (" + listing + ")");
}

namespace {

// The weights file text names (see resolve_model); a repository id also fills *origin.
std::string resolve_text(const std::string& text, bool offline, HubOrigin* origin) {
  if (is_directory(text)) return model_in_folder(text);
  if (path_exists(text) || looks_like_path(text)) return text;  // the loader says what is wrong with it
  if (const auto hub = parse_hub_reference(text)) return from_hub(text, *hub, offline, origin);
  const auto at = text.find('@');
  if (at != std::string::npos && parse_hub_reference(text.substr(0, at)))  // ORG/NAME@ a revision git refuses
    throw UsageError("-m: " + hub_reference_problem(text));
  return text;  // "no such file" from the loader
}

}  // namespace

ResolvedModel resolve_model(const ModelReference& ref) {
  ResolvedModel m;
  if (!ref.text.empty()) {
    m.path = resolve_text(ref.text, ref.offline, &m.hub);
    m.source = "-m";
  } else if (const char* env = std::getenv("VIT_CLASSIFY_MODEL"); env && *env) {
    m.source = "$VIT_CLASSIFY_MODEL";
    m.path = with_source(m.source, [&] { return resolve_text(env, ref.offline, &m.hub); });
  } else {
    m = default_model();
  }
  spdlog::info("model {} from {}", m.path, m.source);
  return m;
}

ResolvedModel default_model() {
  std::string looked;
  for (const auto& dir : model_folders()) {
    looked += ", " + dir;
    const auto found = models_in(dir);
    if (found.empty()) continue;
    ResolvedModel m{found.front(), "the folder " + dir, {}};
    for (const auto& f : found)
      if (starts_with(base_name(f), "default")) return {f, m.source, {}};
    if (found.size() > 1) spdlog::info("several models in {}; using {} (pass -m to choose)", dir, found.front());
    return m;
  }
  throw UsageError(
      "no model given: pass -m with a weights file (.safetensors, .pth, TorchScript), a model folder, or a "
      "Hugging Face repository id such as google/vit-base-patch16-224 (downloaded once into the Hugging Face "
      "cache); or set VIT_CLASSIFY_MODEL, or put a model into " +
      user_data_dir() + "/models (looked at $VIT_CLASSIFY_MODEL" + looked + ")");
}

}  // namespace vit
