// Which model file -m (or its default) names: a weights file, a model folder laid out as
// from_pretrained expects, a Hugging Face repository id (from the cache, else downloaded), or
// with no -m, $VIT_CLASSIFY_MODEL, else the model in models/.
#pragma once

#include <string>

#include "vit/io/hub.h"

namespace vit {

// The hub as the environment sets it: HubSettings::from_environment() (Hugging Face's
// variables), and the stall limit from $VIT_CLASSIFY_HUB_TIMEOUT (seconds; unset, not a
// number or not positive: 60).
HubSettings hub_settings_from_environment();

struct ModelReference {
  std::string text;      // what names the model: -m's value, else $VIT_CLASSIFY_MODEL's
  bool offline = false;  // --offline: the Hugging Face cache only (as HF_HUB_OFFLINE=1)
};

// The weights file `ref` names. An existing file is itself; a folder gives its
// model.safetensors, else pytorch_model.bin, else its one weights or TorchScript file; text
// shaped ORG/NAME[@REVISION] that is no path here is a Hugging Face repository id (see
// vit/io/hub.h). Empty text: default_model_path(). Throws UsageError or ModelError saying
// what was looked for and where.
std::string resolve_model_path(const ModelReference& ref);

// $VIT_CLASSIFY_MODEL (resolved as -m is), else the model in models/ beside the working
// directory, the executable or the source tree (a name starting with "default" first, else
// the first by name). Throws UsageError saying how to get one.
std::string default_model_path(bool offline = false);

// A model folder's weights file (see resolve_model_path). Throws ModelError listing what the
// folder holds when none fits.
std::string model_in_folder(const std::string& dir);

}  // namespace vit
