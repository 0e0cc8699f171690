// Reading JSON records back; see include/vit/batch/record_reader.h.
#include "vit/batch/record_reader.h"

#include <nlohmann/json.hpp>

#include "vit/batch/records.h"

namespace vit {

RecordProblem read_json_record(const std::string& line, JsonRecord* record) {
  const auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded()) return RecordProblem::kNotJson;
  if (!j.is_object() || !j.contains("file") || !j["file"].is_string()) return RecordProblem::kNoFile;
  JsonRecord& r = *record;
  r = JsonRecord{};
  r.key = j.contains("file_hex") && j["file_hex"].is_string()
              ? "hex:" + j["file_hex"].get<std::string>()
              : record_key(j["file"].get<std::string>(), RecordFormat::Json);
  if (!j.contains("ok") || !j["ok"].is_boolean()) return RecordProblem::kNoOk;
  r.ok = j["ok"].get<bool>();
  if (j.contains("model_sha256") && j["model_sha256"].is_string())
    r.model = j["model_sha256"].get<std::string>();
  else if (j.contains("model") && j["model"].is_string())
    r.model = j["model"].get<std::string>();
  if (j.contains("predictions") && j["predictions"].is_array()) {
    r.width = j["predictions"].size();
    for (const auto& p : j["predictions"])
      r.ranked.push_back(p.is_object() && p.contains("index") && p["index"].is_number_integer() ? p["index"].get<int>()
                                                                                                : -1);
  }
  if (j.contains("true_index") && j["true_index"].is_number_integer()) r.true_index = j["true_index"].get<int>();
  return RecordProblem::kNone;
}

}  // namespace vit
