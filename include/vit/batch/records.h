// Result records and their output formats (text, JSON Lines, CSV, TSV): one function per
// format, all writing to a std::ostream that the caller owns. Results only; logs go elsewhere.
// Also the report format of the commands that print figures rather than records.
#pragma once

#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "vit/model/prediction.h"
#include "vit/vocabulary.h"

namespace vit {

// How classify's (and eval's -o) per-image records are written.
enum class RecordFormat { Text, Json, Csv, Tsv };
// text, json (also jsonl), csv, tsv.
const Vocabulary<RecordFormat>& record_format_names();

// How eval, bench and models print their figures (a report, not records).
enum class ReportFormat { Text, Json };
// text, json.
const Vocabulary<ReportFormat>& report_format_names();

// What the machine-readable records hold beyond the defaults (text records ignore both).
struct RecordDetail {
  int digits = 6;       // decimals of each probability in JSON, CSV and TSV (9 round-trips a float)
  bool logits = false;  // each prediction's logit too: JSON "logit", CSV/TSV columns logit_N
};

struct Record {
  std::string file;
  bool ok = false;
  std::string error;                    // when !ok
  std::vector<Prediction> predictions;  // best first
  int true_index = -1;                  // eval: the labelled class (-1: none)
  std::string true_label;
};

// Renders records as text; the caller decides where the bytes go (a whole batch is written
// with one write, so a killed run never leaves a torn line behind).
class RecordWriter {
 public:
  // model: shown in JSON records. multiple: text output names each file above its results.
  // model_sha256 ("" = not shown) goes beside the model in JSON records.
  RecordWriter(RecordFormat format, int top_k, std::string model, std::string model_sha256, bool multiple,
               RecordDetail detail = {});
  // eval's records: JSON gains "true_index" and "true_label" after "ok", CSV/TSV the columns
  // true_index and true_label after error.
  void include_truth() { truth_ = true; }
  // A model named by Hugging Face repository id (the `model` given is the id): JSON records
  // gain "revision" (as asked) and "commit" (as resolved) after "model".
  void set_hub_origin(std::string revision, std::string commit) {
    revision_ = std::move(revision);
    commit_ = std::move(commit);
  }
  std::string header() const;  // CSV/TSV column names; "" for text and JSON
  std::string render(const Record& r);

 private:
  void write_text(std::ostream& out, const Record& r);
  void write_json(std::ostream& out, const Record& r);
  void write_delimited(std::ostream& out, const Record& r, char sep);

  RecordFormat format_;
  int top_k_;
  std::string model_, model_sha256_, revision_, commit_;
  bool multiple_;
  bool first_ = true;
  bool truth_ = false;
  RecordDetail detail_;
};

std::string csv_field(const std::string& s);  // RFC 4180 quoting when needed
// IANA TSV with the usual escapes: tab, newline, carriage return and backslash become \t, \n,
// \r and \\, so that every field (a file name with a tab in it too) reads back as it was.
std::string tsv_field(const std::string& s);
// How a path is told apart in records of this format, as --resume reads it back: JSON's
// "file" text (or "hex:" + its bytes when the name is not UTF-8, see "file_hex"), TSV's
// escaped field (compared as written, so no unescaping is needed), CSV's bytes.
std::string record_key(const std::string& path, RecordFormat format);

}  // namespace vit
