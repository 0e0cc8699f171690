// eval's labelled lists with mistakes: every bad row is reported at once, each with its line
// and the nearest class name.
#include <gtest/gtest.h>

#include "test_util.h"
#include "vit/batch/evaluation.h"
#include "vit/errors.h"

namespace vit::test {
namespace {

std::string read_error(const std::string& path) {
  try {
    LabelledSet::read(path, Labels::imagenet1k());
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

// issue 23, defect 6: eval stopped at the first unknown class ('Egyptain cat' names no class),
// so a list with ten typos took ten runs to fix.
TEST(EvalSet, EveryUnknownClassIsReportedAtOnceWithASuggestion) {
  TempDir d;
  write_bytes(d.file("typos.csv"), "file,label\na.jpg,tench\nb.jpg,Egyptain cat\nc.jpg,n01440764\nd.jpg,goldfsh\n");
  const std::string e = read_error(d.file("typos.csv"));
  EXPECT_NE(e.find("typos.csv:3: 'Egyptain cat' names no class"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'Egyptian cat'?"), std::string::npos) << e;
  EXPECT_NE(e.find("typos.csv:5: 'goldfsh' names no class"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'goldfish'?"), std::string::npos) << e;
  EXPECT_EQ(e.find("typos.csv:2:"), std::string::npos) << e;
  EXPECT_EQ(e.find("typos.csv:4:"), std::string::npos) << e;
  // TSV as CSV; a row of the wrong shape and a name listed twice are reported with the others.
  write_bytes(d.file("typos.tsv"), "a.jpg\t0\nb.jpg\tzzzzzzzzzzzzzzzzzzzz\nc.jpg\na.jpg\t1\n");
  const std::string t = read_error(d.file("typos.tsv"));
  EXPECT_NE(t.find("'" + d.file("typos.tsv") + "' has 3 bad rows:"), std::string::npos) << t;
  EXPECT_NE(t.find("typos.tsv:2: 'zzzzzzzzzzzzzzzzzzzz' names no class"), std::string::npos) << t;
  EXPECT_EQ(t.find("did you mean"), std::string::npos) << "nothing is near: " << t;
  EXPECT_NE(t.find("typos.tsv:3: expected 'file<TAB>label'"), std::string::npos) << t;
  EXPECT_NE(t.find("typos.tsv:4: 'a.jpg' is listed twice"), std::string::npos) << t;
}

// A list labelled for another model has a bad row on every line: the first 20 are listed and
// the rest counted, not a message of 50,000 lines.
TEST(EvalSet, ManyBadRowsAreListedUpToTwenty) {
  TempDir d;
  std::string csv;
  for (int i = 0; i < 50; ++i) csv += "img" + std::to_string(i) + ".jpg,not a class " + std::to_string(i) + "\n";
  write_bytes(d.file("other.csv"), csv);
  const std::string e = read_error(d.file("other.csv"));
  EXPECT_NE(e.find("other.csv:20: "), std::string::npos) << e;
  EXPECT_EQ(e.find("other.csv:21: "), std::string::npos) << e;
  EXPECT_NE(e.find("and 30 more"), std::string::npos) << e;
}

// Through the command: every bad row on stderr, and the usage/data exit status (2) as before.
TEST(EvalCli, EveryBadRowOfAListIsReportedWithExitTwo) {
  const std::string model = fixtures() + "/small/hf/model.safetensors";
  VIT_REQUIRE_FILE(model);
  TempDir d;
  write_bytes(d.file("typos.csv"), "file,label\nb.jpg,Egyptain cat\nd.jpg,no such class\n");
  const CliRun r = run_cli_capture({"eval", "-m", model, "--no-progress", d.file("typos.csv")});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("typos.csv:2: 'Egyptain cat' names no class"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean 'Egyptian cat'?"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("typos.csv:3: 'no such class' names no class"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace vit::test
