// The shared pieces of the option table's rows: the fields of rows that several subcommands
// share, comma lists, and the preprocessing rows (--preset ... --std).
#include "vit/app/option_rows.h"

#include <stdexcept>
#include <thread>

#include "vit/image/resample.h"

namespace vit::rows {

int cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

std::vector<std::string> comma_items(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  if (s.empty()) return parts;
  for (size_t comma; (comma = s.find(',', start)) != std::string::npos; start = comma + 1)
    parts.push_back(s.substr(start, comma - start));
  parts.push_back(s.substr(start));
  return parts;
}

namespace {

[[noreturn]] void not_taken(Command k, const char* what) {
  throw std::logic_error(std::string("option table: subcommand ") + std::to_string(k) + " does not take " + what);
}

}  // namespace

ClassifyCommandOptions& job_field(CommandLine& c, Command k) {
  switch (k) {
    case kClassify: return c.classify;
    case kEval: return c.eval.job;
    case kExplain:
    case kModels:
    case kBench: break;
  }
  not_taken(k, "the records options");
}

LogOptions& log_field(CommandLine& c, Command k) {
  switch (k) {
    case kModels: return c.models.log;
    case kClassify:
    case kExplain:
    case kEval:
    case kBench: return c.common.log;
  }
  not_taken(k, "-v/-q");
}

bool& offline_field(CommandLine& c, Command k) {
  switch (k) {
    case kModels: return c.models.offline;
    case kClassify:
    case kExplain:
    case kEval:
    case kBench: return c.common.model.offline;
  }
  not_taken(k, "--offline");
}

ReportFormat& report_format_field(CommandLine& c, Command k) {
  switch (k) {
    case kEval: return c.eval.format;
    case kModels: return c.models.format;
    case kBench: return c.bench.format;
    case kClassify:
    case kExplain: break;
  }
  not_taken(k, "a report --format");
}

void preprocess_rows(std::vector<OptionRow>& t) {
  using Pre = PreprocessOverrides;
  auto pre = [](CommandLine& c) -> Pre& { return c.common.model.preprocess; };
  std::vector<std::string> presets{"auto"};
  for (const auto& w : words(preset_names())) presets.push_back(w);
  t.push_back(Row("--preset", "NAME", kRunsModel,
                  "Preprocessing: auto (the one the weights were trained with), " + choices(preset_names()),
                  parsed<std::optional<Preset>>(
                      [pre](CommandLine& c, Command) -> std::optional<Preset>& { return pre(c).preset; },
                      [](const std::string& s) -> std::optional<Preset> {
                        if (s == "auto" || s == "AUTO") return std::nullopt;
                        return parse_named(preset_names(), s, "--preset");
                      }))
                  .shows_word("auto")
                  .choices(presets));
  t.push_back(
      Row("--resize", "N|WxH|none", kRunsModel, "Override the preset's resize: N (shorter side), WxH (exact), or none",
          parsed<std::optional<ResizeSpec>>(
              [pre](CommandLine& c, Command) -> std::optional<ResizeSpec>& { return pre(c).resize; }, parse_resize))
          .choices({"none", "224", "256", "224x224"}));
  t.push_back(Row("--crop", "N|none", kRunsModel, "Override the preset's center crop side, or none",
                  parsed<std::optional<int>>(
                      [pre](CommandLine& c, Command) -> std::optional<int>& { return pre(c).crop; }, parse_crop))
                  .choices({"none", "224"}));
  t.push_back(Row("--interpolation", "NAME", kRunsModel,
                  "Override the preset's resampling: " + choices(interpolation_names()),
                  parsed<std::optional<Interpolation>>(
                      [pre](CommandLine& c, Command) -> std::optional<Interpolation>& { return pre(c).interpolation; },
                      [](const std::string& s) { return parse_named(interpolation_names(), s, "--interpolation"); }))
                  .choices(words(interpolation_names())));
  using Triple = std::optional<std::array<float, 3>>;
  t.push_back(Row("--mean", "R,G,B", kRunsModel, "Override the preset's normalisation mean: R,G,B (or one value)",
                  parsed_list<Triple>([pre](CommandLine& c, Command) -> Triple& { return pre(c).mean; },
                                      [](const std::vector<std::string>& v) { return parse_triple(v, "--mean"); })));
  t.push_back(
      Row("--std", "R,G,B", kRunsModel, "Override the preset's normalisation std: R,G,B (or one value), each positive",
          parsed_list<Triple>([pre](CommandLine& c, Command) -> Triple& { return pre(c).std; },
                              [](const std::vector<std::string>& items) {
                                const auto v = parse_triple(items, "--std");
                                for (float x : v)
                                  if (!(x > 0))
                                    throw UsageError("--std: every value must be positive, got " + std::to_string(x));
                                return v;
                              })));
}

}  // namespace vit::rows
