// A weights file's tensors as stored, under the names in the file: safetensors (views of the
// mapped file) or a torch.save checkpoint (through the code-free unpickler).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "vit/io/checkpoint_format.h"

namespace vit {

struct RawCheckpoint {
  FileFormat format = FileFormat::Safetensors;
  std::map<std::string, torch::Tensor> tensors;
  std::shared_ptr<const void> keepalive;  // holds the safetensors mapping the tensors alias
  // Called with each tensor once its values were copied; frees what it can (mapped pages).
  std::function<void(const torch::Tensor&)> release;
  std::string wrapper_key;  // torch.save dict that wrapped the state dict ("model" for DeiT)
};

// Throws ModelError for TorchScript modules, unreadable files and non-float tensors.
RawCheckpoint read_checkpoint(const std::string& path);

}  // namespace vit
