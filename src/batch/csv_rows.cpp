// CSV and TSV rows; see include/vit/batch/csv_rows.h.
#include "vit/batch/csv_rows.h"

#include "vit/errors.h"

namespace vit {

namespace {

constexpr size_t kMaxRowBytes = size_t{1} << 20;

bool blank(const CsvRow& row, bool had_quote) {
  return !had_quote && row.fields.size() == 1 && row.fields[0].find_first_not_of(" \t") == std::string::npos;
}

}  // namespace

std::vector<CsvRow> read_csv_rows(std::istream& in, char sep, const std::string& path) {
  std::vector<CsvRow> rows;
  if (in.peek() == 0xEF) {  // a UTF-8 byte order mark: EF BB BF
    char bom[3] = {};
    in.read(bom, 3);
    if (!(in.gcount() == 3 && bom[1] == '\xBB' && bom[2] == '\xBF')) {
      in.clear();
      in.seekg(0);
    }
  }
  const bool quotes = sep == ',';
  size_t line = 1;
  CsvRow row{line, {std::string()}, {}};
  bool quoted = false, had_quote = false;
  size_t quote_line = 0;
  const auto end_row = [&] {
    if (!blank(row, had_quote)) rows.push_back(std::move(row));
    row = CsvRow{line, {std::string()}, {}};
    had_quote = false;
  };
  for (int c = in.get(); c != std::char_traits<char>::eof(); c = in.get()) {
    const char ch = static_cast<char>(c);
    if (row.text.size() >= kMaxRowBytes)
      throw UsageError(path + ":" + std::to_string(row.line) + ": a row over " + std::to_string(kMaxRowBytes >> 20) +
                       " MiB (an unclosed quote?)");
    if (quoted) {
      row.text += ch;
      if (ch == '"' && in.peek() == '"') {  // "" inside quotes: one quote
        row.text += static_cast<char>(in.get());
        row.fields.back() += '"';
      } else if (ch == '"') {
        quoted = false;
      } else {
        if (ch == '\n') ++line;
        row.fields.back() += ch;
      }
      continue;
    }
    if (ch == '\n' || (ch == '\r' && in.peek() == '\n')) {
      if (ch == '\r') in.get();
      ++line;
      end_row();
      continue;
    }
    row.text += ch;
    if (quotes && ch == '"') {
      quoted = had_quote = true;
      quote_line = line;
    } else if (ch == sep) {
      row.fields.emplace_back();
    } else {
      row.fields.back() += ch;
    }
  }
  if (quoted)
    throw UsageError(path + ":" + std::to_string(quote_line) +
                     ": a quoted field is not closed before the end of the file (RFC 4180: a quote inside a quoted "
                     "field is written \"\")");
  end_row();
  return rows;
}

}  // namespace vit
