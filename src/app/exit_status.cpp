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

int exit_status_for_current_exception() {
  try {
    throw;
  } catch (const UsageError& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(ExitCode::Usage);
  } catch (const ModelError& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(ExitCode::ModelLoad);
  } catch (const DeviceError& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(ExitCode::ModelLoad);
  } catch (const ImageError& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(ExitCode::SomeFailed);
  } catch (const OutputError& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(ExitCode::OutputFailed);
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    return static_cast<int>(ExitCode::Internal);
  }
}

}  // namespace vit
