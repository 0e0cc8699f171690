// Reading back earlier records; see include/vit/app/resume.h.
#include "vit/app/resume.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "vit/batch/csv_rows.h"
#include "vit/batch/record_reader.h"
#include "vit/errors.h"

namespace vit {

namespace {

// CSV (RFC 4180, read_csv_row): the first two fields (file, ok) of every complete row; newlines
// inside quotes do not end a row. Returns the length of the complete rows.
size_t read_csv(const std::string& data, Recorded& r) {
  size_t pos = 0, line = 1, complete = 0;
  CsvRow row;
  for (bool header = true; pos < data.size(); header = false) {
    if (read_csv_row(data, &pos, &line, &row) != RowEnd::kLineBreak) break;  // a torn last row
    complete = pos;
    if (header) {
      r.header = row.text;
      continue;
    }
    r.done.insert(row.fields[0]);
    if (row.fields.size() < 2 || row.fields[1] != "true") r.failed.insert(row.fields[0]);
  }
  return complete;
}

void read_json_line(const std::string& line, const std::string& path, Recorded& r) {
  JsonRecord record;
  switch (read_json_record(line, &record)) {
    case RecordProblem::kNone: break;
    case RecordProblem::kNotJson:
      throw UsageError("--resume: '" + path +
                       "' has a line that is not a JSON record; is it the output of another format?");
    case RecordProblem::kNoFile:
      throw UsageError("--resume: '" + path + "' has a line that is not a vit-classify record (no \"file\")");
    case RecordProblem::kNoOk:
      throw UsageError("--resume: '" + path + "' has a line that is not a vit-classify record (no true/false \"ok\")");
  }
  r.done.insert(record.key);
  if (!record.ok) {
    r.failed.insert(record.key);
    return;
  }
  if (!record.model.empty()) r.models.insert(record.model);
  if (record.width) r.widths.insert(*record.width);
}

// JSON Lines and TSV: one record per line. Returns the length of the complete lines. The lines
// are taken from `data` in place (a records file can be hundreds of MB: no copy of it is made).
size_t read_lines(const std::string& data, RecordFormat format, const std::string& path, Recorded& r) {
  const size_t nl = data.rfind('\n');
  const size_t complete = nl == std::string::npos ? 0 : nl + 1;
  bool header = format == RecordFormat::Tsv;
  std::string line;
  for (size_t start = 0; start < complete;) {
    const size_t end = data.find('\n', start);
    line.assign(data, start, end - start);
    start = end + 1;
    if (header) {
      r.header = line;
      header = false;
    } else if (format == RecordFormat::Tsv) {
      const std::vector<std::string> fields = split_tsv_row(line);  // file, ok, error, ...
      r.done.insert(fields[0]);
      if (fields.size() < 3 || fields[1] != "true") r.failed.insert(fields[0]);
    } else {
      read_json_line(line, path, r);
    }
  }
  return complete;
}

// Only a tail that can be our own torn record is ever cut: a file with no complete line, or
// (JSON) a tail that does not begin like a record, is someone else's, and stays as it is.
void check_torn_tail(const std::string& data, size_t complete, RecordFormat format, const std::string& path) {
  if (complete == data.size()) return;
  const std::string refuse = "--resume: '" + path + "' ";
  const std::string advice =
      "; nothing was changed. Write to another -o file, or pass --force instead of --resume "
      "to replace it";
  if (complete == 0)
    throw UsageError(refuse + "holds " + std::to_string(data.size()) +
                     " bytes but not one complete line: it is not vit-classify output" + advice);
  const std::string prefix = "{\"file\":";
  const size_t n = std::min(prefix.size(), data.size() - complete);
  if (format == RecordFormat::Json && data.compare(complete, n, prefix, 0, n) != 0)
    throw UsageError(refuse + "ends with " + std::to_string(data.size() - complete) +
                     " bytes that are not the start of a record" + advice);
}

}  // namespace

Recorded recorded_inputs(const std::string& path, RecordFormat format) {
  if (format == RecordFormat::Text)
    throw UsageError("--resume needs --format json, csv or tsv (text output cannot be read back)");
  Recorded r;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return r;  // nothing recorded yet
  // A device or FIFO (-o /dev/zero) would be read for ever: --resume appends to a file.
  if (!S_ISREG(st.st_mode))
    throw UsageError("--resume: '" + path + "' is not a regular file; --resume adds to a records file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw OutputError("--resume: cannot read '" + path + "': " + std::strerror(errno));
  std::string data(static_cast<size_t>(st.st_size), '\0');  // one allocation of the file's size
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<size_t>(in.gcount()));  // shorter if it shrank meanwhile
  in.close();
  // A record is complete only with its newline; a killed run may leave a torn last line.
  size_t complete = 0;
  switch (format) {
    case RecordFormat::Csv: complete = read_csv(data, r); break;
    case RecordFormat::Json:
    case RecordFormat::Tsv: complete = read_lines(data, format, path, r); break;
    case RecordFormat::Text:  // refused with the options: text is not read back
      throw UsageError("--resume needs --format json, csv or tsv (text output cannot be read back)");
  }
  check_torn_tail(data, complete, format, path);
  if (complete < data.size()) {
    spdlog::warn("--resume: dropping a torn last record ({} bytes) from '{}'", data.size() - complete, path);
    if (::truncate(path.c_str(), static_cast<off_t>(complete)) != 0)
      throw OutputError("--resume: cannot truncate '" + path + "': " + std::strerror(errno));
  }
  return r;
}

void check_resume_matches(const Recorded& r, const std::string& path, RecordFormat format, const std::string& header,
                          const std::string& model, size_t width) {
  const std::string where = "--resume: '" + path + "' ";
  std::string expected = header;
  if (!expected.empty() && expected.back() == '\n') expected.pop_back();
  if ((format == RecordFormat::Csv || format == RecordFormat::Tsv) && !r.header.empty() && r.header != expected)
    throw UsageError(where + "has the columns\n  " + r.header + "\nbut this run would write\n  " + expected +
                     "\n(another --top-k or --format?); resume with the same options, or write to another -o file");
  if (format != RecordFormat::Json) return;
  for (const auto& m : r.models)
    if (m != model)
      throw UsageError(where + "holds records of another model (" + m + ", not the SHA-256 " + model +
                       " of this one); resume with the same model, or write to another -o file");
  for (size_t w : r.widths)
    if (width > 0 && w != width)
      throw UsageError(where + "holds records with " + std::to_string(w) + " predictions but this run would write " +
                       std::to_string(width) + " (another --top-k?); resume with the same options");
}

}  // namespace vit
