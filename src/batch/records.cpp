// Output formats for result records; see include/vit/batch/records.h.
#include "vit/batch/records.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "vit/io/sha256.h"

namespace vit {

const Vocabulary<Format>& format_names() {
  static const Vocabulary<Format> names{{"text", Format::Text},
                                        {"json", Format::Json},
                                        {"jsonl", Format::Json},
                                        {"csv", Format::Csv},
                                        {"tsv", Format::Tsv}};
  return names;
}

RecordWriter::RecordWriter(Format format, int top_k, std::string model, std::string model_sha256, bool multiple)
    : format_(format),
      top_k_(top_k),
      model_(std::move(model)),
      model_sha256_(std::move(model_sha256)),
      multiple_(multiple) {}

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
  std::string r = s;
  std::replace_if(
      r.begin(), r.end(), [](char c) { return c == '\t' || c == '\n' || c == '\r'; }, ' ');
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

std::string record_key(const std::string& path, Format format) {
  if (format == Format::Json) {
    if (!valid_utf8(path)) return "hex:" + hex_bytes(path.data(), path.size());  // as "file_hex" keeps it: lossless
    return nlohmann::json(path).dump();
  }
  if (format == Format::Tsv) return tsv_field(path);
  return path;
}

std::string RecordWriter::header() const {
  if (format_ != Format::Csv && format_ != Format::Tsv) return "";
  const char sep = format_ == Format::Csv ? ',' : '\t';
  std::ostringstream out;
  out << "file" << sep << "ok" << sep << "error";
  if (truth_) out << sep << "true_index" << sep << "true_label";
  for (int i = 1; i <= top_k_; ++i) out << sep << "index_" << i << sep << "label_" << i << sep << "probability_" << i;
  out << '\n';
  return out.str();
}

std::string RecordWriter::render(const Record& r) {
  std::ostringstream out;
  switch (format_) {
    case Format::Text: write_text(out, r); break;
    case Format::Json: write_json(out, r); break;
    case Format::Csv: write_delimited(out, r, ','); break;
    case Format::Tsv: write_delimited(out, r, '\t'); break;
  }
  if (r.ok || format_ != Format::Text) first_ = false;
  return out.str();
}

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
      e["probability"] = std::round(static_cast<double>(p.probability) * 1e6) / 1e6;
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
      out << sep << p.index << sep << field(p.label) << sep
          << fmt::format("{:.6f}", static_cast<double>(p.probability));
    } else {
      out << sep << sep << sep;
    }
  }
  out << '\n';
}

}  // namespace vit
