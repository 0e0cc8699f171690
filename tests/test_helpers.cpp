// The helpers written once for the whole tree (issue 23): text (vit/io/text.h), bytes
// (vit/io/bytes.h), folder walks (vit/io/walk.h), the CSV/TSV row reader (vit/batch/csv_rows.h),
// the JSON record reader (vit/batch/record_reader.h), and fmt's digits against printf's.
#include <gtest/gtest.h>
#include <spdlog/fmt/fmt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "test_util.h"
#include "vit/batch/csv_rows.h"
#include "vit/batch/record_reader.h"
#include "vit/io/bytes.h"
#include "vit/io/files.h"
#include "vit/io/text.h"
#include "vit/io/walk.h"

namespace vit::test {
namespace {

// Two copies disagreed: one took "x" to end with "x" (>=), the other did not (>).
TEST(Helpers, AffixesAsCpp20HasThem) {
  EXPECT_TRUE(ends_with("model.pth", ".pth"));
  EXPECT_TRUE(ends_with(".pth", ".pth"));
  EXPECT_TRUE(ends_with("x", ""));
  EXPECT_FALSE(ends_with("pth", ".pth"));
  EXPECT_FALSE(ends_with("model.pt", ".pth"));
  EXPECT_TRUE(starts_with("models--org--name", "models--"));
  EXPECT_FALSE(starts_with("model", "models--"));
  EXPECT_EQ(ascii_lower("JPEG.Tsv \xC3\x89"), "jpeg.tsv \xC3\x89");  // UTF-8 bytes pass unchanged
  EXPECT_EQ(ascii_upper("yes"), "YES");
  EXPECT_EQ(edit_distance("egyptain cat", "egyptian cat"), 2u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(closest_match("--fromat", {"--format", "--force", "--from"}, 2), "--format");
  EXPECT_EQ(closest_match("zzzz", {"--format"}, 2), "");
}

TEST(Helpers, LittleAndBigEndianIntegers) {
  const uint8_t b[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x88};
  EXPECT_EQ(load_le(b, 2), 0x0201u);
  EXPECT_EQ(load_le(b, 8), 0x8807060504030201u);
  EXPECT_EQ(load_be(b, 4), 0x01020304u);
  EXPECT_EQ(load_le(b, 0), 0u);
}

// Every printf format the tree had, through fmt: the same digits (ties, halves, negatives,
// NaN and infinity included), so that outputs stay byte-identical.
TEST(Helpers, FmtPrintsPrintfsDigits) {
  std::mt19937 gen(7);
  std::uniform_real_distribution<double> any(-2000, 2000);
  std::vector<double> values{0.0, -0.0, 0.5, 1.5, 2.5, 0.125, 0.375, 1e-7, 99.95, 0.05, 1.0 / 3, 1e9, NAN, INFINITY};
  for (int i = 0; i < 20000; ++i) values.push_back(any(gen));
  for (int i = 0; i < 2000; ++i) values.push_back(std::round(any(gen)) / 8);  // exact ties in binary
  char buf[128];
  for (double v : values)
    for (int decimals = 0; decimals <= 6; ++decimals) {
      std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
      ASSERT_EQ(fmt::format("{:.{}f}", v, decimals), buf) << decimals;
    }
  for (int i : {0, 7, -3, 123, 12345, 1234567}) {
    std::snprintf(buf, sizeof buf, "%-4d|%5d|%10d|%02d", i, i, i, i);
    EXPECT_EQ(fmt::format("{:<4}|{:5}|{:10}|{:02}", i, i, i, i), buf);
  }
  std::snprintf(buf, sizeof buf, "%7.2f|%9.2f|\\x%02x", 3.14159, 12345.678, 7);
  EXPECT_EQ(fmt::format("{:7.2f}|{:9.2f}|\\x{:02x}", 3.14159, 12345.678, static_cast<unsigned char>(7)), buf);
}

std::vector<CsvRow> rows_of(const std::string& data, char sep) {
  std::vector<CsvRow> rows;
  size_t pos = 0, line = 1;
  CsvRow row;
  while (pos < data.size()) {
    read_csv_row(data, &pos, &line, &row, sep);
    rows.push_back(row);
  }
  return rows;
}

TEST(Helpers, OneCsvReaderForListsAndRecords) {
  const auto rows = rows_of("a,\"b,c\",\"say \"\"x\"\"\"\r\n\"two\nlines\",2\nlast,row", ',');
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].fields, (std::vector<std::string>{"a", "b,c", "say \"x\""}));
  EXPECT_EQ(rows[0].text, "a,\"b,c\",\"say \"\"x\"\"\"");
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"two\nlines", "2"}));
  EXPECT_EQ(rows[1].line, 2u);
  EXPECT_EQ(rows[2].line, 4u);
  size_t pos = 0, line = 1;
  CsvRow row;
  const std::string torn = "file,ok\nx.jpg,true\n\"y";
  EXPECT_EQ(read_csv_row(torn, &pos, &line, &row), RowEnd::kLineBreak);
  EXPECT_EQ(read_csv_row(torn, &pos, &line, &row), RowEnd::kLineBreak);
  EXPECT_EQ(pos, 19u);  // the complete rows' length: what --resume keeps
  EXPECT_EQ(read_csv_row(torn, &pos, &line, &row), RowEnd::kInsideQuotes);
  pos = 0;
  EXPECT_EQ(read_csv_row("x,y", &pos, &line, &row), RowEnd::kEndOfData);
  pos = 0;
  EXPECT_EQ(read_csv_row(std::string(100, 'x'), &pos, &line, &row, ',', 50), RowEnd::kTooLong);
  // TSV has no quoting: quotes are text, tabs cut.
  EXPECT_EQ(split_tsv_row("a\t\"b\"\t"), (std::vector<std::string>{"a", "\"b\"", ""}));
  const auto tsv = rows_of("a\tb\r\nc\n", '\t');
  ASSERT_EQ(tsv.size(), 2u);
  EXPECT_EQ(tsv[0].fields, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(tsv[1].line, 2u);
}

TEST(Helpers, OneJsonRecordReader) {
  JsonRecord r;
  ASSERT_EQ(read_json_record(R"({"file":"a.jpg","ok":true,"true_index":3,"model":"m.safetensors",)"
                             R"("model_sha256":"abc","predictions":[{"index":3},{"index":7}]})",
                             &r),
            RecordProblem::kNone);
  EXPECT_EQ(r.key, "\"a.jpg\"");
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.model, "abc");  // the SHA-256 before the name
  EXPECT_EQ(r.width, 2u);
  EXPECT_EQ(r.ranked, (std::vector<int>{3, 7}));
  EXPECT_EQ(r.true_index, 3);
  ASSERT_EQ(read_json_record(R"({"file":"?","file_hex":"ff","ok":false,"error":"x"})", &r), RecordProblem::kNone);
  EXPECT_EQ(r.key, "hex:ff");
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.width);
  EXPECT_FALSE(r.true_index);
  EXPECT_EQ(read_json_record("{\"file\":", &r), RecordProblem::kNotJson);
  EXPECT_EQ(read_json_record(R"({"ok":true})", &r), RecordProblem::kNoFile);
  EXPECT_EQ(read_json_record(R"({"file":"a","ok":"yes"})", &r), RecordProblem::kNoOk);
}

std::vector<std::string> walked(const std::string& dir, FolderWalk::Options o) {
  std::vector<std::string> out;
  struct stat st {};
  ::stat(dir.c_str(), &st);
  FolderWalk walk(o);
  walk.enter(dir, st);
  for (FolderWalk::Entry e; walk.next(&e);)
    out.push_back(e.path.substr(dir.size() + 1) + (e.error ? "!" : S_ISLNK(e.st.st_mode) ? "@" : ""));
  return out;
}

TEST(Helpers, OneFolderWalkWithEachCallersRules) {
  TempDir d;
  make_dirs(d.file("b/c"));
  write_bytes(d.file("a.jpg"), "");
  write_bytes(d.file(".hidden"), "");
  write_bytes(d.file("b/c/x.png"), "");
  ASSERT_EQ(::symlink(d.path().c_str(), d.file("b/loop").c_str()), 0);
  ASSERT_EQ(::symlink(d.file("b/c").c_str(), d.file("link").c_str()), 0);
  ASSERT_EQ(::symlink("nowhere", d.file("dangling").c_str()), 0);
  EXPECT_EQ(list_folder(d.path(), false), (std::vector<std::string>{"a.jpg", "b", "dangling", "link"}));
  EXPECT_EQ(list_folder(d.path(), true).front(), ".hidden");
  int error = 0;
  EXPECT_TRUE(list_folder(d.file("none"), false, &error).empty());
  EXPECT_EQ(error, ENOENT);
  // Following links: the loop back to the top and the second path to b/c are skipped.
  EXPECT_EQ(walked(d.path(), {false, FolderWalk::Links::kFollow}),
            (std::vector<std::string>{"a.jpg", "b/c/x.png", "dangling!"}));
  // Keeping links: each is an entry, none is walked into; hidden names when asked.
  EXPECT_EQ(walked(d.path(), {true, FolderWalk::Links::kKeep}),
            (std::vector<std::string>{".hidden", "a.jpg", "b/c/x.png", "b/loop@", "dangling@", "link@"}));
}

}  // namespace
}  // namespace vit::test
