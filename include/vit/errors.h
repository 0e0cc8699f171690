// Typed errors thrown by the vit-classify library. Each carries a message that says where,
// what, the values involved and the likely cause; the command-line front end maps the kind
// to an exit status (see ExitCode in vit/app/exit_status.h).
#pragma once

#include <stdexcept>
#include <string>

namespace vit {

// Untrusted text (a tensor name, a label, a path from a list) as it is quoted in a message:
// whole up to `most` bytes, else its first `most` bytes (not cutting a UTF-8 character) and
// "... (N bytes)", so that a 100 KB name cannot fill a terminal or a log.
inline std::string clipped(const std::string& text, size_t most = 200) {
  if (text.size() <= most) return text;
  size_t end = most;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;  // a continuation byte
  return text.substr(0, end) + "... (" + std::to_string(text.size()) + " bytes)";
}

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The user asked for something impossible (bad option value, unknown preset, ...).
class UsageError : public Error {
 public:
  using Error::Error;
};

// A model file is missing, corrupt, or does not describe a ViT we can run.
class ModelError : public Error {
 public:
  using Error::Error;
};

// One input image could not be read or decoded; other inputs may still succeed.
class ImageError : public Error {
 public:
  using Error::Error;
};

// An output file could not be written (folder not writable, disk full, ...).
class OutputError : public Error {
 public:
  using Error::Error;
};

// The requested device (e.g. CUDA) is not available in this build or on this machine.
class DeviceError : public Error {
 public:
  using Error::Error;
};

}  // namespace vit
