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
  // Tensors whose dtype no weight can have (integers, FP8...): name -> dtype. They are left
  // out of `tensors`, so that the architecture is judged first (a ResNet's integer
  // num_batches_tracked must not hide "not a ViT").
  std::map<std::string, std::string> unsupported;
};

// Throws ModelError for TorchScript modules and unreadable files.
RawCheckpoint read_checkpoint(const std::string& path);

}  // namespace vit
