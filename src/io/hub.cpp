// Models by Hugging Face repository id: the cache's layout (huggingface_hub's, so that Python
// and we share one cache) and what to fetch; see include/vit/io/hub.h. The HTTP side is
// hub_download.cpp.
#include "vit/io/hub.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <nlohmann/json.hpp>

#include "vit/errors.h"
#include "vit/io/files.h"
#include "vit/io/hub_download.h"
#include "vit/io/hub_paths.h"
#include "vit/io/text.h"
#include "vit/io/walk.h"

namespace vit {

namespace {

// The weights we read: open_clip's own first (a repository such as laion/CLIP-ViT-B-32-laion2B-s34B-b79K
// holds open_clip's and a transformers CLIPModel's; open_clip's are the ones zero-shot matches
// exactly), then in the order huggingface_hub's users (transformers, timm) prefer them.
const char* const kWeights[] = {"open_clip_model.safetensors", "model.safetensors", "open_clip_pytorch_model.bin",
                                "pytorch_model.bin"};
// Read beside any weights.
const char* const kOptional[] = {"config.json", "preprocessor_config.json"};
// Read beside CLIP weights only (open_clip's architecture and the CLIP tokenizer's vocabulary and
// merges), so that a plain ViT repository costs no HEAD for them.
const char* const kClipFiles[] = {"open_clip_config.json", "vocab.json", "merges.txt"};
// The largest file fetched beside the weights: a config.json with 21k labels is about 1 MB,
// vocab.json about 1 MB (49408 tokens), merges.txt about 0.5 MB; a hub announcing more is refused.
constexpr uint64_t kOptionalLimit = 16 << 20;

bool only_chars(const std::string& s, const char* allowed) { return s.find_first_not_of(allowed) == std::string::npos; }

const char* const kNameChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";

bool valid_name(const std::string& s) {
  return !s.empty() && s.size() <= 96 && only_chars(s, kNameChars) && s.front() != '.' && s.front() != '-' &&
         s.back() != '.' && s.back() != '-' && s.find("..") == std::string::npos && s.find("--") == std::string::npos;
}

// Branches and tags ("main", "v1.0", "refs/pr/1") and commit hashes, as git allows them: no
// part that is empty, starts with '.' or ends in ".lock" (so never "." or ".."), no "..".
bool valid_revision(const std::string& s) {
  if (s.empty() || s.size() > 255 || !only_chars(s, (std::string(kNameChars) + "/").c_str()) || s.front() == '-' ||
      s.find("..") != std::string::npos)
    return false;
  for (size_t start = 0; start <= s.size();) {
    const size_t slash = std::min(s.find('/', start), s.size());
    const std::string part = s.substr(start, slash - start);
    if (part.empty() || part.front() == '.' || part.back() == '.' || ends_with(part, ".lock")) return false;
    start = slash + 1;
  }
  return true;
}

// A limit on what is read from the environment: a token is a few dozen bytes.
constexpr size_t kTokenLimit = 64 << 10;

// The home folder, "/" when neither $HOME nor the password database says (as Python's
// os.path.expanduser leaves it to the root).
std::string home_dir() {
  const std::string home = home_directory();
  return home.empty() ? "/" : home;
}

std::string expand_user(const std::string& path) {
  return path == "~" || starts_with(path, "~/") ? home_dir() + path.substr(1) : path;
}

// $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.
std::string hf_home() {
  const std::string xdg = environment_value("XDG_CACHE_HOME"), home = environment_value("HF_HOME");
  return expand_user(home.empty() ? (xdg.empty() ? home_dir() + "/.cache" : xdg) + "/huggingface" : home);
}

// The weights file in a snapshot: the first of kWeights, else its one .pth file; "" for none.
// Each must be a link into the repository's blobs/ (or a file inside the repository).
std::string weights_in(const std::string& repo_dir, const std::string& snapshot) {
  for (const char* name : kWeights)
    if (snapshot_file_present(repo_dir, snapshot + "/" + name)) return name;
  std::vector<std::string> pth;
  for (const auto& name : list_folder(snapshot, true))
    if (name != ".pth" && ends_with(name, ".pth") && snapshot_file_present(repo_dir, snapshot + "/" + name))
      pth.push_back(name);
  return pth.size() == 1 ? pth[0] : "";
}

// The files read beside the weights are checked as the weights are.
void check_optional_files(const std::string& repo_dir, const std::string& snapshot) {
  for (const char* name : kOptional) snapshot_file_present(repo_dir, snapshot + "/" + name);
  for (const char* name : kClipFiles) snapshot_file_present(repo_dir, snapshot + "/" + name);
}

// Whether the snapshot's weights are CLIP's: open_clip's files, or a transformers CLIPModel
// (config.json's model_type "clip"), whose tokenizer files are then fetched too.
bool is_clip(const std::string& repo_dir, const std::string& snapshot, const std::string& weights) {
  if (starts_with(weights, "open_clip_")) return true;
  if (!snapshot_file_present(repo_dir, snapshot + "/config.json")) return false;
  const SmallFile config = read_small_file(snapshot + "/config.json", kOptionalLimit);
  const auto j = nlohmann::json::parse(config.text, nullptr, false);
  return j.is_object() && j.contains("model_type") && j["model_type"] == "clip";
}

// The revision's snapshot when the cache holds its weights (symlinks into blobs/ resolving).
std::optional<HubModel> lookup_cache(const std::string& repo_dir, const std::string& revision) {
  const std::string commit = is_commit_hash(revision) ? revision : read_cache_ref(repo_dir, revision);
  if (commit.empty()) return std::nullopt;
  const std::string snapshot = repo_dir + "/snapshots/" + commit;
  const std::string weights = weights_in(repo_dir, snapshot);
  if (weights.empty()) return std::nullopt;
  check_optional_files(repo_dir, snapshot);
  return HubModel{snapshot, snapshot + "/" + weights, commit};
}

// One fetch_hub_model call: where things go in the cache and how to ask the server.
struct Fetch {
  const HubReference& ref;
  const HubSettings& settings;
  std::string revision;  // ref.revision or "main"
  std::string repo;      // models--ORG--NAME
  std::string repo_dir;  // CACHE/models--ORG--NAME
  std::string url(const std::string& rev, const std::string& file) const {
    return hub_resolve_url(settings.endpoint, ref.repo_id, rev, file);
  }
};

// "a/b/c" -> "/a/b" and "c": a file's folder (for CacheFolder) and name.
std::string folder_part(const std::string& file) {
  const auto slash = file.rfind('/');
  return slash == std::string::npos ? "" : "/" + file.substr(0, slash);
}

// huggingface_hub's marker for "this commit has no such file", so that no one asks again.
void mark_missing(const Fetch& f, const std::string& commit, const std::string& filename) {
  if (!is_commit_hash(commit) || !is_safe_repo_file(filename)) return;
  const CacheFolder dir(f.settings.cache_dir, f.repo + "/.no_exist/" + commit + folder_part(filename));
  ::close(dir.open_file(base_name(filename), O_WRONLY | O_CREAT, 0644));
}

void write_ref(const Fetch& f, const std::string& commit) {
  if (f.revision == commit) return;  // a commit hash names itself: huggingface_hub writes no ref for it
  try {
    if (read_cache_ref(f.repo_dir, f.revision) == commit) return;
  } catch (const ModelError&) {  // a broken ref is replaced (the rename replaces a link, never follows it)
  }
  const CacheFolder refs(f.settings.cache_dir, f.repo + "/refs" + folder_part(f.revision));
  refs.write_atomic(base_name(f.revision), commit);  // the bare hash, no newline, as huggingface_hub writes it
}

// snapshots/COMMIT/FILE -> ../../blobs/ETAG (one more ../ per folder in FILE), as
// huggingface_hub's _create_symlink makes it: relative, so the cache can move.
void link_snapshot_file(const Fetch& f, const std::string& commit, const std::string& filename,
                        const std::string& etag) {
  std::string target = "../../";
  for (char c : filename) target += c == '/' ? "../" : "";
  target += "blobs/" + etag;
  const CacheFolder dir(f.settings.cache_dir, f.repo + "/snapshots/" + commit + folder_part(filename));
  dir.make_symlink(target, base_name(filename));
}

// The file in the snapshot of m.commit, downloading its blob unless the cache has it. Every
// name that becomes a path here was checked: the commit and ETag by head_hub_file, the file
// name here.
void place_file(const Fetch& f, const HubFileMetadata& m, const std::string& filename) {
  if (!is_safe_repo_file(filename) || !is_commit_hash(m.commit) || !is_blob_name(m.etag))
    throw ModelError("the hub named a file '" + excerpt(filename) + "' (commit '" + excerpt(m.commit) + "', ETag '" +
                     excerpt(m.etag) + "') that cannot be a path in the cache");
  if (snapshot_file_present(f.repo_dir, f.repo_dir + "/snapshots/" + m.commit + "/" + filename)) return;
  const CacheFolder blobs(f.settings.cache_dir, f.repo + "/blobs");
  if (!blobs.has_file(m.etag))
    download_blob(m, {f.settings.cache_dir, f.repo + "/blobs", ".locks/" + f.repo, f.settings.token,
                      f.settings.progress, filename, f.settings.stall_seconds});
  link_snapshot_file(f, m.commit, filename, m.etag);
}

// The one .pth file the repository lists, when it has neither of kWeights; "" for none or many.
std::string listed_pth(const Fetch& f, std::string* listed) {
  const std::string url = hub_model_info_url(f.settings.endpoint, f.ref.repo_id, f.revision);
  const std::vector<std::string> pth =
      listed_pth_files(get_hub_text(url, f.settings.token, f.settings.stall_seconds), url);
  *listed =
      pth.empty() ? "it lists no .pth file (" + url + ")" : "it lists " + std::to_string(pth.size()) + " .pth files";
  return pth.size() == 1 ? pth[0] : "";
}

// The commit the cache says f.revision is at; "" when unknown (or its ref is broken: replaced later).
std::string cached_commit(const Fetch& f) {
  if (is_commit_hash(f.revision)) return f.revision;
  try {
    return read_cache_ref(f.repo_dir, f.revision);
  } catch (const ModelError&) {
    return "";
  }
}

// HEADs the weights in kWeights' order, then the listed .pth: the first found, with its name.
// kUnreachable when the server cannot be reached (the caller falls back to the cache). A name
// the cache marks absent (.no_exist) at the revision's cached commit costs no HEAD, so that a
// cached plain ViT costs one HEAD as before open_clip's names came first; should the weights
// found then be at another commit (the branch moved), every name is asked again.
HubHead head_weights(const Fetch& f, std::string* filename, bool trust_cache = true) {
  const std::string known = trust_cache ? cached_commit(f) : "";
  bool skipped = false;
  std::string tried;
  for (const char* name : kWeights) {
    if (!known.empty() && path_exists(f.repo_dir + "/.no_exist/" + known + "/" + name)) {
      skipped = true;
      continue;
    }
    HubHead h = head_hub_file(f.url(f.revision, name), f.settings.token, f.settings.stall_seconds);
    *filename = name;
    if (h.outcome == HubHeadOutcome::kFound && skipped && h.metadata.commit != known)
      return head_weights(f, filename, false);
    if (h.outcome != HubHeadOutcome::kMissing) return h;
    mark_missing(f, h.metadata.commit, name);
    tried += (tried.empty() ? "" : ", ") + h.metadata.url;
  }
  if (skipped) return head_weights(f, filename, false);  // none found: ask for every name before giving up
  std::string listed;
  *filename = listed_pth(f, &listed);
  if (!filename->empty()) {
    HubHead h = head_hub_file(f.url(f.revision, *filename), f.settings.token, f.settings.stall_seconds);
    if (h.outcome != HubHeadOutcome::kMissing) return h;
  }
  throw ModelError("'" + f.ref.repo_id + "' at revision '" + f.revision + "' has no weights to read: tried " + tried +
                   ", and " + listed +
                   " (a model here needs open_clip_model.safetensors, model.safetensors, "
                   "open_clip_pytorch_model.bin, pytorch_model.bin or one .pth file)");
}

// config.json and the like at the weights' commit, unless the snapshot already has them or
// knows they are absent (.no_exist): a cached model costs no request for them.
void fetch_optional(const Fetch& f, const std::string& commit, const std::string& name) {
  if (snapshot_file_present(f.repo_dir, f.repo_dir + "/snapshots/" + commit + "/" + name) ||
      path_exists(f.repo_dir + "/.no_exist/" + commit + "/" + name))
    return;
  const HubHead h = head_hub_file(f.url(commit, name), f.settings.token, f.settings.stall_seconds);
  if (h.outcome == HubHeadOutcome::kMissing) return mark_missing(f, commit, name);
  if (h.outcome == HubHeadOutcome::kUnreachable) {
    spdlog::warn("{} of {} not downloaded: {}", name, f.ref.repo_id, h.problem);
    return;
  }
  if (h.metadata.size > kOptionalLimit)
    throw ModelError("the hub announces " + std::to_string(h.metadata.size) + " bytes for " + excerpt(h.metadata.url) +
                     ", over the " + std::to_string(kOptionalLimit >> 20) + " MiB a file read beside the weights " +
                     "may have; it is not downloaded (check HF_ENDPOINT or a proxy in between)");
  place_file(f, h.metadata, name);
}

[[noreturn]] void throw_not_cached(const Fetch& f, const std::string& why) {
  throw ModelError("'" + f.ref.repo_id + "' (revision " + f.revision + ") is not in the Hugging Face cache " +
                   f.settings.cache_dir + " (looked for " + f.repo_dir + "/" +
                   (is_commit_hash(f.revision) ? "snapshots/" : "refs/") + f.revision + " and its weights) " + why);
}

}  // namespace

std::optional<HubReference> parse_hub_reference(const std::string& text) {
  const auto at = text.find('@');
  const std::string id = text.substr(0, at);
  const auto slash = id.find('/');
  if (slash == std::string::npos || !valid_name(id.substr(0, slash)) || !valid_name(id.substr(slash + 1)))
    return std::nullopt;
  HubReference ref{id, ""};
  if (at != std::string::npos) {
    ref.revision = text.substr(at + 1);
    if (!valid_revision(ref.revision)) return std::nullopt;
  }
  return ref;
}

std::string hub_reference_problem(const std::string& text) {
  if (parse_hub_reference(text)) return "";
  const auto at = text.find('@');
  if (at == std::string::npos || !parse_hub_reference(text.substr(0, at)))
    return "'" + excerpt(text) + "' is not a Hugging Face repository id (ORG/NAME[@REVISION])";
  return "'" + excerpt(text) + "' names the repository " + text.substr(0, at) + " with the revision '" +
         excerpt(text.substr(at + 1)) +
         "', which is not a branch, tag or commit name (letters, digits, '.', '_', '-' and '/'; no part that is "
         "empty, starts or ends with '.' or ends in '.lock'; no '..')";
}

std::vector<std::string> model_weights_names() { return {std::begin(kWeights), std::end(kWeights)}; }

std::string hub_cache_dir_from_environment() {
  const std::string cache = environment_value("HF_HUB_CACHE").empty() ? environment_value("HUGGINGFACE_HUB_CACHE")
                                                                      : environment_value("HF_HUB_CACHE");
  return cache.empty() ? hf_home() + "/hub" : expand_user(cache);  // HUGGINGFACE_HUB_CACHE: its older name
}

HubSettings HubSettings::from_environment() {
  HubSettings s;
  const std::string home = hf_home();
  s.cache_dir = hub_cache_dir_from_environment();
  s.endpoint = environment_value("HF_ENDPOINT").empty() ? "https://huggingface.co" : environment_value("HF_ENDPOINT");
  while (s.endpoint.size() > 1 && s.endpoint.back() == '/') s.endpoint.pop_back();
  s.token = environment_value("HF_TOKEN");
  if (s.token.empty()) s.token = environment_value("HUGGING_FACE_HUB_TOKEN");  // its older name
  if (s.token.empty()) {
    const std::string path =
        environment_value("HF_TOKEN_PATH").empty() ? home + "/token" : expand_user(environment_value("HF_TOKEN_PATH"));
    const SmallFile token = read_small_file(path, kTokenLimit);
    if (!token.problem.empty())
      throw UsageError("the token file '" + path +
                       "' (HF_TOKEN_PATH, else HF_HOME/token) is not read: " + token.problem +
                       "; point HF_TOKEN_PATH at the file `huggingface-cli login` writes, or set "
                       "HF_TOKEN");
    s.token = trimmed_first_line(token.text);
  }
  const std::string offline = ascii_upper(environment_value("HF_HUB_OFFLINE"));
  s.offline = offline == "1" || offline == "ON" || offline == "YES" || offline == "TRUE";
  return s;
}

HubModel fetch_hub_model(const HubReference& ref, const HubSettings& settings) {
  const std::string problem = hub_reference_problem(ref.repo_id + (ref.revision.empty() ? "" : "@" + ref.revision));
  if (!problem.empty()) throw UsageError(problem);
  const std::string repo = cache_repo_folder(ref.repo_id);
  const Fetch f{ref, settings, ref.revision.empty() ? "main" : ref.revision, repo, settings.cache_dir + "/" + repo};
  if (settings.offline) {
    if (auto cached = lookup_cache(f.repo_dir, f.revision)) return *cached;
    throw_not_cached(f,
                     "and downloads are off (--offline or HF_HUB_OFFLINE); drop --offline / unset HF_HUB_OFFLINE "
                     "to download it, or point HF_HUB_CACHE at a cache that holds it");
  }
  // As huggingface_hub: a HEAD even for a cached file, so that a branch that moved is followed.
  std::string filename;
  const HubHead weights = head_weights(f, &filename);
  if (weights.outcome == HubHeadOutcome::kUnreachable) {
    if (auto cached = lookup_cache(f.repo_dir, f.revision)) {
      spdlog::warn("cannot reach the hub ({}); using the cached snapshot {} of {}", weights.problem, cached->commit,
                   ref.repo_id);
      return *cached;
    }
    throw_not_cached(f, "and the hub cannot be reached: " + weights.problem +
                            "; check the network or HF_ENDPOINT (--offline uses the cache only)");
  }
  const std::string commit = weights.metadata.commit;
  write_ref(f, commit);  // head_hub_file checked that it is a commit hash
  place_file(f, weights.metadata, filename);
  for (const char* name : kOptional) fetch_optional(f, commit, name);
  const std::string snapshot = f.repo_dir + "/snapshots/" + commit;
  if (is_clip(f.repo_dir, snapshot, filename))
    for (const char* name : kClipFiles) fetch_optional(f, commit, name);
  check_optional_files(f.repo_dir, snapshot);
  return HubModel{snapshot, snapshot + "/" + filename, commit};
}

}  // namespace vit
