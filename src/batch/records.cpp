// Output formats for result records; see include/vit/batch/records.h.
#include "vit/batch/records.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "vit/io/sha256.h"

namespace vit {

const Vocabulary<RecordFormat>& record_format_names() {
  static const Vocabulary<RecordFormat> names{{"text", RecordFormat::Text},
                                              {"json", RecordFormat::Json},
                                              {"jsonl", RecordFormat::Json},
                                              {"csv", RecordFormat::Csv},
                                              {"tsv", RecordFormat::Tsv}};
  return names;
}

const Vocabulary<ReportFormat>& report_format_names() {
  static const Vocabulary<ReportFormat> names{{"text", ReportFormat::Text}, {"json", ReportFormat::Json}};
  return names;
}

RecordWriter::RecordWriter(RecordFormat format, int top_k, std::string model, std::string model_sha256, bool multiple,
                           RecordDetail detail)
    : format_(format),
      top_k_(top_k),
      model_(std::move(model)),
      model_sha256_(std::move(model_sha256)),
      multiple_(multiple),
      detail_(detail) {}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

std::string tsv_field(const std::string& s) {
  std::string r;
  r.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '\t': r += "\\t"; break;
      case '\n': r += "\\n"; break;
      case '\r': r += "\\r"; break;
      case '\\': r += "\\\\"; break;
      default: r += c;
    }
  }
  return r;
}

namespace {

bool valid_utf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();  // the strict handler throws on invalid UTF-8
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

}  // namespace

std::string record_key(const std::string& path, RecordFormat format) {
  switch (format) {
    case RecordFormat::Json:
      if (!valid_utf8(path)) return "hex:" + hex_bytes(path.data(), path.size());  // as "file_hex" keeps it: lossless
      return nlohmann::json(path).dump();
    case RecordFormat::Tsv: return tsv_field(path);
    case RecordFormat::Text:
    case RecordFormat::Csv: return path;
  }
  return path;
}

std::string RecordWriter::header() const {
  char sep = ',';
  switch (format_) {
    case RecordFormat::Text:
    case RecordFormat::Json: return "";
    case RecordFormat::Csv: sep = ','; break;
    case RecordFormat::Tsv: sep = '\t'; break;
  }
  std::ostringstream out;
  out << "file" << sep << "ok" << sep << "error";
  if (truth_) out << sep << "true_index" << sep << "true_label";
  for (int i = 1; i <= top_k_; ++i) {
    out << sep << "index_" << i << sep << "label_" << i << sep << "probability_" << i;
    if (detail_.logits) out << sep << "logit_" << i;
  }
  out << '\n';
  return out.str();
}

std::string RecordWriter::render(const Record& r) {
  std::ostringstream out;
  switch (format_) {
    case RecordFormat::Text: write_text(out, r); break;
    case RecordFormat::Json: write_json(out, r); break;
    case RecordFormat::Csv: write_delimited(out, r, ','); break;
    case RecordFormat::Tsv: write_delimited(out, r, '\t'); break;
  }
  if (r.ok || format_ != RecordFormat::Text) first_ = false;
  return out.str();
}

namespace {

// A probability or logit as the records print it: `digits` decimals, or (0) the shortest text
// that reads back as the same float.
std::string number_text(float v, int digits) {
  if (digits == 0) return fmt::format("{}", v);
  return fmt::format("{:.{}f}", static_cast<double>(v), digits);
}

double json_number(float v, int digits) {
  if (digits == 0) return std::stod(fmt::format("{}", v));  // the double whose shortest text is the float's
  const double scale = std::pow(10.0, digits);
  return std::round(static_cast<double>(v) * scale) / scale;
}

}  // namespace

static std::string prob4(float p) { return fmt::format("{:.4f}", static_cast<double>(p)); }

void RecordWriter::write_text(std::ostream& out, const Record& r) {
  if (!r.ok) return;  // text is for people: the error is logged on stderr
  if (multiple_) out << (first_ ? "" : "\n") << r.file << ":\n";
  size_t width = 0;
  for (const auto& p : r.predictions) width = std::max(width, p.label.size());
  for (const auto& p : r.predictions) {
    out << (multiple_ ? "  " : "") << fmt::format("{:<4}", p.index) << " " << p.label
        << std::string(width - p.label.size() + 2, ' ') << prob4(p.probability) << '\n';
  }
}

void RecordWriter::write_json(std::ostream& out, const Record& r) {
  nlohmann::ordered_json j;
  j["file"] = r.file;
  // A name that is not UTF-8 shows with U+FFFD in "file" (JSON holds only text) and, byte for
  // byte, in "file_hex": two such names never read back as one.
  if (!valid_utf8(r.file)) j["file_hex"] = hex_bytes(r.file.data(), r.file.size());
  j["ok"] = r.ok;
  if (truth_) {
    j["true_index"] = r.true_index;
    j["true_label"] = r.true_label;
  }
  if (!r.ok) {
    j["error"] = r.error;
  } else {
    j["model"] = model_;
    if (!revision_.empty()) j["revision"] = revision_;
    if (!commit_.empty()) j["commit"] = commit_;
    if (!model_sha256_.empty()) j["model_sha256"] = model_sha256_;
    auto preds = nlohmann::ordered_json::array();
    for (const auto& p : r.predictions) {
      nlohmann::ordered_json e;
      e["index"] = p.index;
      e["label"] = p.label;
      e["probability"] = json_number(p.probability, detail_.digits);
      if (detail_.logits) e["logit"] = json_number(p.logit, detail_.digits);
      preds.push_back(e);
    }
    j["predictions"] = preds;
  }
  // File names need not be UTF-8: invalid bytes become U+FFFD rather than failing the record.
  out << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
}

void RecordWriter::write_delimited(std::ostream& out, const Record& r, char sep) {
  auto field = [&](const std::string& s) { return sep == ',' ? csv_field(s) : tsv_field(s); };
  out << field(r.file) << sep << (r.ok ? "true" : "false") << sep << field(r.error);
  if (truth_) out << sep << r.true_index << sep << field(r.true_label);
  for (int i = 0; i < top_k_; ++i) {
    if (i < static_cast<int>(r.predictions.size())) {
      const auto& p = r.predictions[i];
      out << sep << p.index << sep << field(p.label) << sep << number_text(p.probability, detail_.digits);
      if (detail_.logits) out << sep << number_text(p.logit, detail_.digits);
    } else {
      out << sep << sep << sep << (detail_.logits ? std::string(1, sep) : "");
    }
  }
  out << '\n';
}

}  // namespace vit
