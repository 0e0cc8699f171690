// Typed errors thrown by the vit-classify library. Each carries a message that says where,
// what, the values involved and the likely cause; the command-line front end maps the kind
// to an exit status (see ExitCode in cli.h).
#pragma once

#include <stdexcept>
#include <string>

namespace vit {

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
