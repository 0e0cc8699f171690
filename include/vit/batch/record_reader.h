// The one reader of vit-classify's JSON Lines records, for what reads them back: --resume
// (which inputs are done, with which model and width) and eval --resume (the tally so far).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace vit {

// One record line, as RecordWriter::write_json writes it.
struct JsonRecord {
  std::string key;  // the input as record_key(file, RecordFormat::Json) keys it ("hex:..." from "file_hex")
  bool ok = false;
  std::string model;              // "model_sha256", else "model"; "" when neither
  std::optional<size_t> width;    // how many predictions, when it has a "predictions" list
  std::vector<int> ranked;        // the predictions' class indices, best first (-1 where none)
  std::optional<int> true_index;  // eval's records: the labelled class
};

enum class RecordProblem {
  kNone,
  kNotJson,  // the line does not parse as JSON
  kNoFile,   // no "file" text: not a vit-classify record
  kNoOk,     // no true/false "ok"
};

// Reads one line of records into *record; says what is wrong when it is not a record.
RecordProblem read_json_record(const std::string& line, JsonRecord* record);

}  // namespace vit
