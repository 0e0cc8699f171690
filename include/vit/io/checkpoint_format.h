// Which kind of model file a path holds, from its first bytes and, for zip archives, its
// entries: safetensors, a torch.save checkpoint, or a TorchScript module.
#pragma once

#include <string>

namespace vit {

enum class FileFormat { Safetensors, TorchZip, TorchScript };

const char* format_name(FileFormat f);  // safetensors | pytorch | torchscript

// Throws ModelError for missing, empty or unknown files, naming what was expected.
FileFormat detect_format(const std::string& path);

}  // namespace vit
