// Models by Hugging Face repository id ("google/vit-base-patch16-224", "timm/NAME@REV"):
// the local cache laid out exactly as huggingface_hub lays it out, so that files downloaded
// by Python are found here and files downloaded here are found by Python, and downloads
// over HTTPS (libcurl) into that cache.
//
//   CACHE/models--ORG--NAME/refs/REVISION            the commit hash a branch or tag points to
//   CACHE/models--ORG--NAME/snapshots/COMMIT/FILE    a relative symlink to ../../blobs/ETAG
//   CACHE/models--ORG--NAME/blobs/ETAG               the file's bytes (ETAG: sha256 for LFS files)
//   CACHE/models--ORG--NAME/blobs/ETAG.incomplete    a download in progress, resumed with Range
//   CACHE/.locks/models--ORG--NAME/ETAG.lock         held (flock) while a process downloads it
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vit/io/hub_listing.h"  // what the cache holds (`models`)

namespace vit {

// A repository id and an optional revision (branch, tag or commit hash).
struct HubReference {
  std::string repo_id;   // "ORG/NAME"
  std::string revision;  // "" = main
};

// "ORG/NAME" or "ORG/NAME@REVISION" with the characters the hub allows in names
// ([A-Za-z0-9._-], not starting or ending with '.' or '-', no "..", no "--"); nullopt for
// anything else (a file name, a path with more or fewer parts, an empty part).
std::optional<HubReference> parse_hub_reference(const std::string& text);
// Why text is not a repository id, for a usage error: "" when parse_hub_reference takes it; for
// "ORG/NAME@REV" with a good id, what is wrong with the revision ("evil/ok@." names no branch).
std::string hub_reference_problem(const std::string& text);

// The weights file names a repository or a model folder is searched for, in this order:
// open_clip_model.safetensors, model.safetensors, open_clip_pytorch_model.bin, pytorch_model.bin
// (open_clip's first: a repository holding both open_clip's and transformers' CLIP weights gives
// open_clip's).
std::vector<std::string> model_weights_names();

// The Hugging Face cache folder the environment names (HubSettings::cache_dir), without reading
// anything else (no token file).
std::string hub_cache_dir_from_environment();

// What the environment says about the hub.
struct HubSettings {
  std::string cache_dir;  // $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub,
                          // else ~/.cache/huggingface/hub
  std::string endpoint;   // $HF_ENDPOINT, else https://huggingface.co (no trailing '/')
  std::string token;      // $HF_TOKEN, else the file $HF_TOKEN_PATH, else $HF_HOME/token (at most 64 KiB, a
                          // regular file: anything else is a UsageError)
  bool offline = false;   // $HF_HUB_OFFLINE=1 (or true/yes/on); the command line's --offline sets it too
  bool progress = false;  // draw a progress bar on stderr while downloading
  // Seconds a transfer may go under 1 KB/s before it is abandoned; the app sets it from
  // $VIT_CLASSIFY_HUB_TIMEOUT (from_environment reads Hugging Face's own variables only).
  long stall_seconds = 60;
  static HubSettings from_environment();
};

// A model's files in one snapshot of the cache.
struct HubModel {
  std::string snapshot_dir;  // CACHE/models--ORG--NAME/snapshots/COMMIT
  std::string weights;       // snapshot_dir + "/" + the first of model_weights_names() found (else the .pth)
  std::string commit;        // the snapshot's commit hash
};

// The model's weights (the first of model_weights_names() the repository has, else the one .pth
// file it lists) with config.json and preprocessor_config.json where the repository has them,
// and for CLIP weights (open_clip's, or config.json's model_type "clip") open_clip_config.json,
// vocab.json and merges.txt too, each at the weights' commit and at most 16 MiB: from the cache
// when the revision's snapshot already holds them, else downloaded (unless settings.offline). Throws ModelError saying
// what is missing and where it looked (offline, or not in the cache), or what the server said (401: a gated or private
// repository and how to give a token; 404: no such repository, revision or file; a dropped
// connection; a checksum that does not match the ETag); a failed download leaves only a
// resumable .incomplete file behind, never a wrong file under its final name. A hostile hub
// or a shared cache is refused with a ModelError before anything is written or read: an
// ETag, commit or listed file name that is not what the hub sends (see hub_paths.h), a file
// beside the weights announced over 16 MiB, a link
// planted in the cache, a snapshot file resolving outside blobs/, a ref that is not a small
// file holding a commit hash. An invalid ref.revision is a UsageError.
HubModel fetch_hub_model(const HubReference& ref, const HubSettings& settings);

}  // namespace vit
