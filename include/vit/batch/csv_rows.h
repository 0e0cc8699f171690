// The one reader of CSV and TSV rows, for eval's labelled lists and --resume's records: CSV by
// RFC 4180 (quoted fields, "" for a quote, separators and line breaks inside quotes), TSV split
// at tabs (it has no quoting). Rows end at LF or CRLF.
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

namespace vit {

struct CsvRow {
  size_t line = 0;  // the line the row starts on, from 1
  std::vector<std::string> fields;
  std::string text;  // the row as written (quotes kept, its line break left out), for messages
};

// How read_csv_row's row ended.
enum class RowEnd {
  kLineBreak,     // at LF or CRLF: a complete row
  kEndOfData,     // at the end of the data, with no line break after it
  kInsideQuotes,  // at the end of the data inside a quoted field (never closed)
  kTooLong,       // after max_bytes of row without its end (the rest is not read)
};

// The row of `data` that starts at *pos, on line *line; both move past the row and its line
// break. sep ',' reads quotes; '\t' splits as split_tsv_row does. A quote that opens a field
// quotes it; a quote inside an unquoted field also opens quoting (as Python's csv module reads
// it), so that a stray quote shows as an unclosed field rather than as a silently merged one.
RowEnd read_csv_row(std::string_view data, size_t* pos, size_t* line, CsvRow* row, char sep = ',',
                    size_t max_bytes = size_t{1} << 20);

// One TSV line (without its line break) cut at each tab.
std::vector<std::string> split_tsv_row(std::string_view line);

// Every row of a CSV (sep ',') or TSV ('\t') list as eval reads it: a UTF-8 byte order mark
// (Excel's "CSV UTF-8") is skipped, blank lines are left out. `path` names the file in errors.
// Throws UsageError for a quote left open at the end of the file, or a row over 1 MiB.
std::vector<CsvRow> read_csv_rows(std::istream& in, char sep, const std::string& path);

}  // namespace vit
