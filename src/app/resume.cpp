// Reading back earlier records; see include/vit/app/resume.h.
#include "vit/app/resume.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "vit/errors.h"

namespace vit {

namespace {

// CSV: the first field of every complete record after the header (RFC 4180 quoting; newlines
// inside quotes do not end a record). Returns the length of the complete records.
size_t csv_first_fields(const std::string& data, std::set<std::string>& keys) {
  bool quoted = false, first_field = true, header = true;
  size_t last_end = 0;
  std::string field;
  for (size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    if (quoted) {
      if (c == '"' && i + 1 < data.size() && data[i + 1] == '"') {
        if (first_field) field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else if (first_field) {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',' && first_field) {
      first_field = false;
    } else if (c == '\n') {
      if (!header) keys.insert(field);
      header = false;
      field.clear();
      first_field = true;
      last_end = i + 1;
    } else if (first_field) {
      field += c;
    }
  }
  return last_end;
}

// JSON Lines and TSV: one record per line. Returns the length of the complete lines.
size_t line_keys(const std::string& data, Format format, const std::string& path, std::set<std::string>& keys) {
  const size_t nl = data.rfind('\n');
  const size_t complete = nl == std::string::npos ? 0 : nl + 1;
  std::istringstream lines(data.substr(0, complete));
  std::string line;
  bool header = format == Format::Tsv;
  while (std::getline(lines, line)) {
    if (header) {
      header = false;
    } else if (format == Format::Tsv) {
      keys.insert(line.substr(0, line.find('\t')));
    } else {
      try {
        const auto j = nlohmann::json::parse(line);
        if (j.contains("file") && j["file"].is_string())
          keys.insert(record_key(j["file"].get<std::string>(), Format::Json));
      } catch (const nlohmann::json::exception&) {
        throw UsageError("--resume: '" + path +
                         "' has a line that is not a JSON record; is it the output of another format?");
      }
    }
  }
  return complete;
}

}  // namespace

std::set<std::string> recorded_inputs(const std::string& path, Format format) {
  if (format == Format::Text)
    throw UsageError("--resume needs --format json, csv or tsv (text output cannot be read back)");
  std::set<std::string> keys;
  std::ifstream in(path, std::ios::binary);
  if (!in) return keys;  // nothing recorded yet
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  // A record is complete only with its newline; a killed run may leave a torn last line.
  const size_t complete = format == Format::Csv ? csv_first_fields(data, keys) : line_keys(data, format, path, keys);
  if (complete < data.size()) {
    spdlog::warn("--resume: dropping a torn last record ({} bytes) from '{}'", data.size() - complete, path);
    if (::truncate(path.c_str(), static_cast<off_t>(complete)) != 0)
      throw OutputError("--resume: cannot truncate '" + path + "': " + std::strerror(errno));
  }
  return keys;
}

}  // namespace vit
