// One test per exit status, through the in-process CLI and the real binary, and README.md's
// table against the code's (vit/app/exit_status.h).
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <regex>
#include <stdexcept>

#include "test_util.h"
#include "vit/app/exit_status.h"
#include "vit/errors.h"

using namespace vit;
namespace t = vit::test;

namespace {

class ExitStatus : public ::testing::Test {
 protected:
  void SetUp() override {
    VIT_REQUIRE_FILE(model);
    VIT_REQUIRE_FILE(photo);
  }
  std::string model = t::fixtures() + "/small/timm.safetensors";
  std::string photo = t::skimage("chelsea.png");
  t::TempDir dir;
};

int status_of(const std::function<void()>& f) {
  try {
    f();
  } catch (...) {
    return exit_status_for_current_exception();
  }
  return -1;
}

}  // namespace

TEST_F(ExitStatus, OkWhenEveryInputIsClassified) { EXPECT_EQ(t::run_cli_capture({"-m", model, photo}).code, 0); }

TEST_F(ExitStatus, SomeFailedWhenAnInputIsNotAnImage) {
  const auto r = t::run_cli_capture({"-m", model, photo, dir.file("missing.png")});
  EXPECT_EQ(r.code, 1) << r.err;
}

TEST_F(ExitStatus, UsageForABadCommandLine) {
  EXPECT_EQ(t::run_cli_capture({"-m", model, "--top-k", "x", photo}).code, 2);
  EXPECT_EQ(t::run_cli_capture({"-m", model}).code, 2) << "no inputs";
}

TEST_F(ExitStatus, ModelLoadForAMissingModel) {
  EXPECT_EQ(t::run_cli_capture({"-m", dir.file("none.safetensors"), photo}).code, 3);
}

TEST_F(ExitStatus, InternalForAnythingUnexpected) {
  EXPECT_EQ(status_of([] { throw std::runtime_error("boom"); }), 4);
  EXPECT_EQ(status_of([] { throw std::bad_alloc(); }), 4);
  EXPECT_EQ(status_of([] { throw OutputError("x"); }), 5);
  EXPECT_EQ(status_of([] { throw ImageError("x"); }), 1);
  EXPECT_EQ(status_of([] { throw DeviceError("x"); }), 3);
  EXPECT_EQ(status_of([] { throw 42; }), 4);
}

TEST_F(ExitStatus, OutputFailedWhenResultsCannotBeWritten) {
  const auto r = t::run_cli_capture({"-m", model, photo, "-o", dir.file("no/such/folder/out.txt")});
  EXPECT_EQ(r.code, 5) << r.err;
  EXPECT_NE(r.err.find("cannot write"), std::string::npos) << r.err;
  // Standard output on a full disk, through the real binary.
  const int status =
      std::system((std::string(VIT_BINARY) + " -q -m '" + model + "' '" + photo + "' > /dev/full").c_str());
  EXPECT_EQ(WEXITSTATUS(status), 5);
}

TEST_F(ExitStatus, InterruptedIs130) {
  EXPECT_EQ(static_cast<int>(ExitCode::Interrupted), 130);
}  // run in Batch.Sigint*

// README.md's "Exit status" table lists the same codes with the same meanings as --help.
TEST(ExitStatusDocs, ReadmeTableMatchesTheCode) {
  std::ifstream in(std::string(VIT_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(in) << "README.md";
  std::string line;
  bool in_section = false;
  std::vector<std::pair<int, std::string>> rows;
  const std::regex row(R"(^\| (\d+) \| (.*) \|$)");
  while (std::getline(in, line)) {
    if (line.rfind("#", 0) == 0) in_section = line == "### Exit status";
    std::smatch m;
    if (in_section && std::regex_match(line, m, row)) rows.emplace_back(std::stoi(m[1]), m[2]);
  }
  const auto& docs = exit_status_docs();
  ASSERT_EQ(rows.size(), docs.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    EXPECT_EQ(rows[i].first, static_cast<int>(docs[i].code));
    std::string meaning = rows[i].second;
    meaning.erase(std::remove(meaning.begin(), meaning.end(), '`'), meaning.end());
    EXPECT_EQ(meaning, docs[i].meaning) << "README row " << rows[i].first;
  }
  EXPECT_NE(exit_status_help().find("130  interrupted"), std::string::npos);
}
