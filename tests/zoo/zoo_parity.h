// One model folder against timm's logits: the folder holds model.safetensors (or model.pth)
// with its config files and io.safetensors (an input batch and the reference logits), as
// tests/reference/timm_zoo.py writes them. Shared by the `zoo` tests and vit_zoo_check (the
// tool scripts/check_timm_zoo.py runs over the whole timm zoo).
#pragma once

#include <string>

namespace vit::test {

struct ZooResult {
  bool loaded = false;
  std::string error;        // why it was refused, when not loaded
  std::string description;  // the model as vit-classify built it
  float max_diff = 0;       // max |ours - reference| over all logits
  float max_ref = 0;        // max |reference logit|
  double load_seconds = 0, run_seconds = 0;
};

// image_size > 0 runs the model at that side (--image-size); heads > 0 is --heads (weights
// without a config.json). Never throws.
ZooResult check_model_dir(const std::string& dir, int image_size = 0, int heads = 0);

}  // namespace vit::test
