// The models subcommand; see include/vit/app/models_command.h.
#include "vit/app/models_command.h"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <ostream>

#include "vit/app/exit_status.h"
#include "vit/app/model_discovery.h"
#include "vit/errors.h"
#include "vit/io/hub.h"

namespace vit {

namespace {

std::string size_text(uint64_t bytes) {
  return bytes >= (1ull << 30) ? fmt::format("{:.1f} GB", static_cast<double>(bytes) / 1e9)
                               : fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

std::string joined(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

void fetch(const ModelsCommandOptions& o, HubSettings settings) {
  settings.offline = settings.offline || o.offline;
  settings.progress = ::isatty(STDERR_FILENO) == 1 && !o.log.quiet;
  for (const auto& name : o.fetch) {
    const auto ref = parse_hub_reference(name);
    if (!ref) throw UsageError("--fetch: " + hub_reference_problem(name));
    const HubModel m = fetch_hub_model(*ref, settings);
    spdlog::info("{}: commit {}, {}", ref->repo_id, m.commit, m.weights);
  }
}

}  // namespace

int run_models(const ModelsCommandOptions& o, std::ostream& out) {
  const HubSettings settings = hub_settings_from_environment();
  if (!o.fetch.empty()) fetch(o, settings);
  const std::vector<CachedModel> models = list_cached_models(settings.cache_dir);
  if (o.format == ReportFormat::Json) {
    for (const auto& m : models) {
      nlohmann::ordered_json j{{"repo_id", m.repo_id}, {"refs", m.refs},   {"commits", m.commits},
                               {"files", m.files},     {"bytes", m.bytes}, {"cache", settings.cache_dir}};
      out << j.dump() << '\n';
    }
    return static_cast<int>(ExitCode::Ok);
  }
  if (models.empty()) {
    spdlog::warn("no models in the Hugging Face cache {} (vit-classify -m ORG/NAME, or models --fetch ORG/NAME)",
                 settings.cache_dir);
    return static_cast<int>(ExitCode::Ok);
  }
  size_t width = 0;
  for (const auto& m : models) width = std::max(width, m.repo_id.size());
  out << "# " << settings.cache_dir << "\n";
  for (const auto& m : models)
    out << m.repo_id << std::string(width - m.repo_id.size() + 2, ' ') << size_text(m.bytes) << "  "
        << (m.refs.empty() ? "(no refs)" : joined(m.refs, ",")) << "  " << joined(m.files, " ") << '\n';
  return static_cast<int>(ExitCode::Ok);
}

}  // namespace vit
