// Model file sniffing; see include/vit/io/checkpoint_format.h.
#include "vit/io/checkpoint_format.h"

#include "vit/errors.h"
#include "vit/io/safetensors.h"
#include "vit/io/text.h"
#include "vit/io/zip_directory.h"

namespace vit {

const char* format_name(FileFormat f) {
  switch (f) {
    case FileFormat::Safetensors: return "safetensors";
    case FileFormat::TorchZip: return "pytorch";
    case FileFormat::TorchScript: return "torchscript";
  }
  return "?";
}

namespace {

// torch.jit.save archives hold code/ and constants.pkl beside data.pkl; torch.save ones do not.
// Read from the zip directory alone: nothing is inflated to tell.
FileFormat zip_kind(const std::string& path) {
  for (const auto& [name, entry] : read_zip_directory(path)) {
    const size_t slash = name.find('/');
    if (slash == std::string::npos) continue;
    const std::string record = name.substr(slash + 1);
    if (record == "constants.pkl" || starts_with(record, "code/")) return FileFormat::TorchScript;
  }
  return FileFormat::TorchZip;
}

}  // namespace

FileFormat detect_format(const std::string& path) {
  MappedFile file(path);  // errors for missing, directory, empty
  const uint8_t* d = file.data();
  const size_t n = file.size();
  if (n >= 4 && d[0] == 'P' && d[1] == 'K' && d[2] == 3 && d[3] == 4) return zip_kind(path);
  if (n >= 2 && d[0] == 0x80 && d[1] <= 5)
    throw ModelError("'" + path +
                     "' is a legacy (pre-1.6, non-zip) torch.save file; re-save it with a current "
                     "PyTorch (torch.save(torch.load(f), f)) or convert it to safetensors");
  // A JSON object after the 8-byte length is safetensors; so is a *.safetensors name, so that
  // damaged files get the validator's detailed errors.
  if (n > 8 && d[8] == '{') return FileFormat::Safetensors;
  if (ends_with(path, ".safetensors")) return FileFormat::Safetensors;
  throw ModelError("'" + path +
                   "' is not a model file this tool reads (expected safetensors, a torch.save zip "
                   "checkpoint (.pth/.pt/.bin) or a TorchScript module)");
}

}  // namespace vit
