// Which model file -m (or its default) names: a weights file, a model folder laid out as
// from_pretrained expects, a Hugging Face repository id (from the cache, else downloaded), or
// with no -m, $VIT_CLASSIFY_MODEL, else the model in the folders an installed tool looks in
// (the build tree's models/ for the binary of a build tree).
#pragma once

#include <string>

#include "vit/errors.h"
#include "vit/io/hub.h"

namespace vit {

// The hub as the environment sets it: HubSettings::from_environment() (Hugging Face's
// variables), and the stall limit from $VIT_CLASSIFY_HUB_TIMEOUT (seconds; unset, not a
// number or not positive: 60).
HubSettings hub_settings_from_environment();

struct ModelReference {
  std::string text;      // -m's value; "" = $VIT_CLASSIFY_MODEL, else the model folders
  bool offline = false;  // --offline: the Hugging Face cache only (as HF_HUB_OFFLINE=1)
};

// Where a model named by Hugging Face repository id came from, for records: the id as named,
// the revision asked ("main" when none was) and the commit it resolved to.
struct HubOrigin {
  std::string repo_id, revision, commit;
};

struct ResolvedModel {
  std::string path;    // the weights file
  std::string source;  // where its name came from, for -v and errors: "-m", "$VIT_CLASSIFY_MODEL",
                       // "the folder DIR"
  HubOrigin hub;       // for a Hugging Face repository id; repo_id "" otherwise
};

// The weights file `ref` names, and why. Text (-m's, else $VIT_CLASSIFY_MODEL's) is resolved
// alike: an existing file is itself; a folder gives the first of model_weights_names()
// (open_clip_model.safetensors, model.safetensors, open_clip_pytorch_model.bin,
// pytorch_model.bin) it holds, else its one weights or TorchScript file; text shaped
// ORG/NAME[@REVISION] that is no path here is a Hugging Face repository id (see vit/io/hub.h),
// which also fills `hub`. Neither: default_model(). Logs the choice (-v). Throws UsageError or
// ModelError saying what was looked for and where; one about $VIT_CLASSIFY_MODEL's model names
// the variable.
ResolvedModel resolve_model(const ModelReference& ref);

// The model in the first of these folders that holds one (a name starting with "default"
// first, else the first by name): for an executable run from its build tree (CMakeCache.txt
// beside it), models/ of the working directory and of its checkout; then the user's data
// folder ($XDG_DATA_HOME/vit-classify/models, else ~/.local/share/vit-classify/models); for
// an installed one, then the install prefix's (EXE/../share/vit-classify/models). Throws
// UsageError listing where it looked and how to give a model.
ResolvedModel default_model();

// A model folder's weights file (see resolve_model). Throws ModelError listing what the
// folder holds when none fits.
std::string model_in_folder(const std::string& dir);

// f(), with a UsageError or ModelError it throws thrown again naming where the model came
// from ("... (the model from $VIT_CLASSIFY_MODEL)"): a name the user did not type on this
// command line is otherwise a riddle.
template <class F>
auto with_source(const std::string& source, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const UsageError& e) {
    throw UsageError(std::string(e.what()) + " (the model from " + source + ")");
  } catch (const ModelError& e) {
    throw ModelError(std::string(e.what()) + " (the model from " + source + ")");
  }
}

}  // namespace vit
