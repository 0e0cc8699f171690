// The command line: parsing, output formats, exit statuses and error messages, run in
// process on argument vectors, plus a few runs of the real binary.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"
#include "vit/app/cli.h"

using namespace vit;
namespace t = vit::test;

namespace {

using t::CliRun;

CliRun run(const std::vector<std::string>& args) { return t::run_cli_capture(args); }

using t::lines;

class CliWithModel : public ::testing::Test {
 protected:
  void SetUp() override { VIT_REQUIRE_FILE(t::real_weights()); }
  std::string model = t::real_weights();
  std::string cat = t::skimage("chelsea.png");
};

}  // namespace

TEST(Cli, UnknownFlagIsUsageError) {
  const CliRun r = run({"--no-such-flag", "x.jpg"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--no-such-flag"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(Cli, VersionAndHelp) {
  CliRun r = run({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind(std::string("vit-classify ") + VIT_CLASSIFY_VERSION + " (commit ", 0), 0u) << r.out;
  r = run({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("Exit status"), std::string::npos);
  EXPECT_NE(r.out.find("--preset"), std::string::npos);
}

TEST(Cli, NoInputsIsUsageError) {
  const CliRun r = run({"-m", "whatever.safetensors"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no input images"), std::string::npos) << r.err;
}

// Each bad value is refused while parsing, before any model is looked for: the message names
// the option (a missing model, which also exits 2, would not).
TEST(Cli, BadOptionValues) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"--format", "xml"}, "--format"},
      {{"--preset", "imagenet"}, "--preset"},
      {{"-k", "0"}, "--top-k"},
      {{"--threads", "-1"}, "--threads"},
      {{"--labels", "/no/such/labels.txt"}, "--labels"},
      {{"--mean", "0.5,abc"}, "--mean"},
      {{"--mean", "1,2,3,4"}, "--mean"},
      {{"--mean", "nan"}, "--mean"},
      {{"--std", "0"}, "--std"},
      {{"--std", "inf"}, "--std"},
      {{"--resize", "0"}, "--resize"},
      {{"--resize", "10x"}, "--resize"},
      {{"--crop", "-3"}, "--crop"},
      {{"--interpolation", "cubic"}, "--interpolation"},
      {{"--device", "tpu"}, "--device"},
      {{"--device", "cuda:x"}, "--device"},
      {{"--shard", "4/3"}, "--shard"},
      {{"--ext", ","}, "--ext"},
      {{"--batch-size", "0"}, "--batch-size"},
      {{"--heads", "0"}, "--heads"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = c.first;
    args.push_back("a.jpg");
    const CliRun r = run(args);
    EXPECT_EQ(r.code, 2) << c.first[0] << " " << c.first[1];
    EXPECT_NE(r.err.find(c.second), std::string::npos) << c.first[0] << " " << c.first[1] << ": " << r.err;
    EXPECT_EQ(r.err.find("no model given"), std::string::npos) << r.err;
  }
}

TEST(Cli, ExplainOptionValuesAreCheckedBeforeTheModelLoads) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--layer", "0"}, {"--head", "0"}, {"--head-fusion", "median"}, {"--discard-ratio", "1"}}) {
    std::vector<std::string> a{"explain", "-m", "/no/such/model.safetensors", "x.jpg", "-o", "/tmp/unused"};
    a.insert(a.end(), args.begin(), args.end());
    const CliRun r = run(a);
    EXPECT_EQ(r.code, 2) << args[0] << " " << args[1] << ": " << r.err;
    EXPECT_NE(r.err.find(args[0]), std::string::npos) << r.err;
  }
}

TEST(Cli, MissingModelIsModelError) {
  const CliRun r = run({"-m", "/no/such/model.safetensors", "a.jpg"});
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("No such file"), std::string::npos) << r.err;
}

TEST_F(CliWithModel, TextOutput) {
  const CliRun r = run({"-m", model, cat});
  EXPECT_EQ(r.code, 0) << r.err;
  const auto l = lines(r.out);
  ASSERT_EQ(l.size(), 5u) << r.out;
  EXPECT_EQ(l[0].substr(0, 18), "285  Egyptian cat ");
  EXPECT_EQ(l[0].substr(l[0].size() - 6), "0.8128") << l[0];
  // Probabilities line up in one column.
  for (const auto& x : l) EXPECT_EQ(x.size(), l[0].size()) << x;
}

TEST_F(CliWithModel, JsonRecordsWithFailures) {
  t::TempDir dir;
  t::write_bytes(dir.file("notes.jpg"), "plain text\n");
  const CliRun r = run({"-m", model, "-k", "3", "--format", "json", cat, dir.file("notes.jpg"), dir.file("gone.png")});
  EXPECT_EQ(r.code, 1);
  const auto l = lines(r.out);
  ASSERT_EQ(l.size(), 3u) << r.out;
  auto a = nlohmann::json::parse(l[0]);
  EXPECT_EQ(a["file"], cat);
  EXPECT_EQ(a["ok"], true);
  EXPECT_EQ(a["model"], model) << "the path as given";
  // The weights' SHA-256, as sha256sum computes it.
  ASSERT_EQ(std::system(("sha256sum '" + model + "' > " + dir.file("sum")).c_str()), 0);
  EXPECT_EQ(a["model_sha256"], t::read_bytes(dir.file("sum")).substr(0, 64));
  ASSERT_EQ(a["predictions"].size(), 3u);
  EXPECT_EQ(a["predictions"][0]["index"], 285);
  EXPECT_EQ(a["predictions"][0]["label"], "Egyptian cat");
  EXPECT_NEAR(a["predictions"][0]["probability"].get<double>(), 0.813, 0.01);
  auto b = nlohmann::json::parse(l[1]);
  EXPECT_EQ(b["ok"], false);
  EXPECT_NE(b["error"].get<std::string>().find("text file"), std::string::npos);
  auto c = nlohmann::json::parse(l[2]);
  EXPECT_EQ(c["ok"], false);
  EXPECT_NE(r.err.find("gone.png"), std::string::npos) << "errors are also logged on stderr";
}

TEST_F(CliWithModel, CsvQuotesLabels) {
  const CliRun r = run({"-m", model, "-k", "3", "--format", "csv", cat});
  EXPECT_EQ(r.code, 0);
  const auto l = lines(r.out);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0],
            "file,ok,error,index_1,label_1,probability_1,index_2,label_2,probability_2,index_3,label_3,probability_3");
  EXPECT_NE(l[1].find(",\"tabby, tabby cat\","), std::string::npos) << l[1];
}

TEST_F(CliWithModel, UserLabelsAndVerbosePreset) {
  t::TempDir dir;
  std::string names;
  for (int i = 0; i < 1000; ++i) names += "label" + std::to_string(i) + "\n";
  t::write_bytes(dir.file("labels.txt"), names);
  const CliRun r =
      run({"-m", model, "-k", "1", "-v", "--labels", dir.file("labels.txt"), "--preset", "hf", "--mean", "0.5", cat});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 13), "285  label285");
  EXPECT_NE(r.err.find("preset hf+overrides"), std::string::npos) << r.err;
}

TEST_F(CliWithModel, CropThatDoesNotFitTheModel) {
  const CliRun r = run({"-m", model, "--crop", "200", cat});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--crop"), std::string::npos) << r.err;
}

TEST_F(CliWithModel, CudaOnCpuBuild) {
  const CliRun r = run({"-m", model, "--device", "cuda", cat});
  if (r.code == 0) GTEST_SKIP() << "CUDA available here";
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("CUDA"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST_F(CliWithModel, ModelFromEnvironment) {
  ::setenv("VIT_CLASSIFY_MODEL", model.c_str(), 1);
  const CliRun r = run({"-k", "1", cat});
  ::unsetenv("VIT_CLASSIFY_MODEL");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 3), "285");
}

TEST(Binary, ExitStatusAndCleanStdout) {
  const std::string bin = VIT_BINARY;
  int status = std::system((bin + " --bogus >/dev/null 2>&1").c_str());
  EXPECT_EQ(WEXITSTATUS(status), 2);
  if (!t::exists(t::real_weights())) GTEST_SKIP() << "needs " << t::real_weights();
  t::TempDir dir;
  status = std::system((bin + " -m '" + t::real_weights() + "' -k 2 --format json '" + t::skimage("chelsea.png") +
                        "' /nonexistent.png >" + dir.file("out") + " 2>" + dir.file("err"))
                           .c_str());
  EXPECT_EQ(WEXITSTATUS(status), 1);
  const auto out = lines(t::read_bytes(dir.file("out")));
  ASSERT_EQ(out.size(), 2u);
  for (const auto& l : out) EXPECT_NO_THROW(nlohmann::json::parse(l)) << "stdout holds only records: " << l;
  EXPECT_NE(t::read_bytes(dir.file("err")).find("nonexistent.png"), std::string::npos);
}
