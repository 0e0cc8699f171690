// Reads the tensors of a torch.save() zip checkpoint (a state dict, or a dict that wraps one,
// such as DeiT's {"model": ...}) without Python. LibTorch's own pickle_load turns the
// collections.OrderedDict of every state dict into None, so the pickle is read by our own
// small, safe unpickler (pickle.h). In the model layer because it needs LibTorch (its zip
// reader and tensors); src/io/ has no LibTorch.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <string>

namespace vit {

struct TorchCheckpoint {
  std::map<std::string, at::Tensor> tensors;  // the state dict
  std::string wrapper_key;                    // "model", "state_dict", ... when it was wrapped; else empty
};

// Throws ModelError for files that are not torch.save zip archives or hold no state dict.
TorchCheckpoint read_torch_checkpoint(const std::string& path);

}  // namespace vit
