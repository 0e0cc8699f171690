// Exit statuses; see include/vit/app/exit_status.h.
#include "vit/app/exit_status.h"

#include <spdlog/spdlog.h>

#include <sstream>

#include "vit/errors.h"

namespace vit {

const std::vector<ExitStatusDoc>& exit_status_docs() {
  static const std::vector<ExitStatusDoc> docs{
      {ExitCode::Ok, "every input classified (explain: every file written)"},
      {ExitCode::SomeFailed, "some inputs failed (missing, not an image, truncated...); the others were classified"},
      {ExitCode::Usage, "bad command line (unknown flag, bad value, no inputs, a crop the model cannot take)"},
      {ExitCode::ModelLoad,
       "the model could not be loaded (missing or corrupt file, not a ViT, wrong shapes, device unavailable)"},
      {ExitCode::Internal, "internal error"},
      {ExitCode::OutputFailed,
       "results could not be written (-o file or folder not writable, disk full, standard output closed)"},
      {ExitCode::Interrupted,
       "interrupted (SIGINT/SIGTERM): the batches in flight were written whole; --resume finishes the job"},
  };
  return docs;
}

std::string exit_status_help() {
  std::ostringstream o;
  o << "Exit status:\n";
  for (const auto& d : exit_status_docs())
    o << "  " << static_cast<int>(d.code) << (static_cast<int>(d.code) < 10 ? "    " : "  ") << d.meaning << "\n";
  return o.str();
}

namespace {

ExitCode status_for(const std::exception& e) {
  if (dynamic_cast<const UsageError*>(&e)) return ExitCode::Usage;
  if (dynamic_cast<const ModelError*>(&e) || dynamic_cast<const DeviceError*>(&e)) return ExitCode::ModelLoad;
  if (dynamic_cast<const ImageError*>(&e)) return ExitCode::SomeFailed;
  if (dynamic_cast<const OutputError*>(&e)) return ExitCode::OutputFailed;
  return ExitCode::Internal;
}

}  // namespace

int exit_status_for_current_exception() {
  try {
    throw;
  } catch (const std::exception& e) {
    const ExitCode code = status_for(e);
    spdlog::error("{}{}", code == ExitCode::Internal ? "internal error: " : "", e.what());
    return static_cast<int>(code);
  } catch (...) {
    spdlog::error("internal error: an exception of unknown type");
    return static_cast<int>(ExitCode::Internal);
  }
}

}  // namespace vit
