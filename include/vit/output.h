// Result records and their output formats (text, JSON Lines, CSV, TSV): one function per
// format, all writing to a std::ostream that the caller owns. Results only; logs go elsewhere.
#pragma once

#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "vit/labels.h"

namespace vit {

enum class Format { Text, Json, Csv, Tsv };
Format parse_format(const std::string& s);  // throws UsageError

struct Prediction {
  int index = 0;
  std::string label;
  float probability = 0;
};

struct Record {
  std::string file;
  bool ok = false;
  std::string error;                     // when !ok
  std::vector<Prediction> predictions;   // best first
};

// The k most probable classes of one row of probabilities, best first (ties: lower index).
std::vector<Prediction> top_k(const float* probs, int classes, int k, const Labels& labels);

// Renders records as text; the caller decides where the bytes go (a whole batch is written
// with one write, so a killed run never leaves a torn line behind).
class RecordWriter {
 public:
  // model: shown in JSON records. multiple: text output names each file above its results.
  RecordWriter(Format format, int top_k, std::string model, bool multiple);
  std::string header() const;  // CSV/TSV column names; "" for text and JSON
  std::string render(const Record& r);

 private:
  void write_text(std::ostream& out, const Record& r);
  void write_json(std::ostream& out, const Record& r);
  void write_delimited(std::ostream& out, const Record& r, char sep);

  Format format_;
  int top_k_;
  std::string model_;
  bool multiple_;
  bool first_ = true;
};

std::string csv_field(const std::string& s);  // RFC 4180 quoting when needed
std::string tsv_field(const std::string& s);  // tabs and line breaks become spaces

}  // namespace vit
