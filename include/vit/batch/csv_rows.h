// The rows of a CSV (RFC 4180: quoted fields, "" for a quote, line breaks inside quotes) or TSV
// file, as eval's labelled lists are written: a UTF-8 byte order mark (Excel's "CSV UTF-8") is
// skipped, CRLF line ends are taken, blank lines are left out.
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <vector>

namespace vit {

struct CsvRow {
  size_t line = 0;  // the line the row starts on, from 1
  std::vector<std::string> fields;
  std::string text;  // the row as written, for messages
};

// sep ',' (quotes are read) or '\t' (no quoting, as TSV has none). `path` names the file in
// errors. Throws UsageError for a quote left open at the end of the file, or a row over 1 MiB.
std::vector<CsvRow> read_csv_rows(std::istream& in, char sep, const std::string& path);

}  // namespace vit
