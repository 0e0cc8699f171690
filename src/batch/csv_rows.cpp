// CSV and TSV rows; see include/vit/batch/csv_rows.h.
#include "vit/batch/csv_rows.h"

#include <iterator>

#include "vit/errors.h"

namespace vit {

namespace {

constexpr size_t kMaxRowBytes = size_t{1} << 20;

bool blank(const CsvRow& row) {
  return row.text.find('"') == std::string::npos && row.fields.size() == 1 &&
         row.fields[0].find_first_not_of(" \t") == std::string::npos;
}

// The end of the line starting at `from` (the LF, or data.size()), and the length of its
// line break (0, 1 for LF, 2 for CRLF).
size_t line_end(std::string_view data, size_t from, size_t* break_length) {
  const size_t lf = data.find('\n', from);
  if (lf == std::string_view::npos) {
    *break_length = 0;
    return data.size();
  }
  const bool crlf = lf > from && data[lf - 1] == '\r';
  *break_length = crlf ? 2 : 1;
  return crlf ? lf - 1 : lf;
}

}  // namespace

std::vector<std::string> split_tsv_row(std::string_view line) {
  std::vector<std::string> fields;
  for (size_t start = 0;;) {
    const size_t tab = line.find('\t', start);
    fields.emplace_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) return fields;
    start = tab + 1;
  }
}

RowEnd read_csv_row(std::string_view data, size_t* pos, size_t* line, CsvRow* row, char sep, size_t max_bytes) {
  const size_t start = *pos;
  row->line = *line;
  row->fields.assign(1, std::string());
  row->text.clear();
  if (sep == '\t') {
    size_t break_length = 0;
    const size_t end = line_end(data, start, &break_length);
    if (end - start > max_bytes) return RowEnd::kTooLong;
    row->text.assign(data, start, end - start);
    row->fields = split_tsv_row(row->text);
    *pos = end + break_length;
    *line += break_length ? 1 : 0;
    return break_length ? RowEnd::kLineBreak : RowEnd::kEndOfData;
  }
  bool quoted = false;
  size_t i = start;
  for (; i < data.size(); ++i) {
    if (i - start >= max_bytes) return RowEnd::kTooLong;
    const char c = data[i];
    if (quoted) {
      if (c == '"' && i + 1 < data.size() && data[i + 1] == '"') {  // "" inside quotes: one quote
        row->fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++*line;
        row->fields.back() += c;
      }
      continue;
    }
    if (c == '\n' || (c == '\r' && i + 1 < data.size() && data[i + 1] == '\n')) break;
    if (c == '"')
      quoted = true;
    else if (c == sep)
      row->fields.emplace_back();
    else
      row->fields.back() += c;
  }
  row->text.assign(data, start, i - start);
  if (quoted) {
    *pos = i;
    return RowEnd::kInsideQuotes;
  }
  if (i == data.size()) {
    *pos = i;
    return RowEnd::kEndOfData;
  }
  *pos = i + (data[i] == '\r' ? 2 : 1);
  ++*line;
  return RowEnd::kLineBreak;
}

std::vector<CsvRow> read_csv_rows(std::istream& in, char sep, const std::string& path) {
  std::string data(std::istreambuf_iterator<char>(in), {});
  size_t pos = data.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;  // a UTF-8 byte order mark
  size_t line = 1;
  std::vector<CsvRow> rows;
  CsvRow row;
  while (pos < data.size()) {
    const RowEnd end = read_csv_row(data, &pos, &line, &row, sep, kMaxRowBytes);
    if (end == RowEnd::kTooLong)
      throw UsageError(path + ":" + std::to_string(row.line) + ": a row over " + std::to_string(kMaxRowBytes >> 20) +
                       " MiB (an unclosed quote?)");
    if (end == RowEnd::kInsideQuotes)
      throw UsageError(path + ":" + std::to_string(row.line) +
                       ": a quoted field is not closed before the end of the file (RFC 4180: a quote inside a quoted "
                       "field is written \"\")");
    if (!blank(row)) rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace vit
