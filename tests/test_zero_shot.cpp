// CLIP zero-shot through the binary, on the small tiny_typed fixture (every build writes it):
// explain and eval on a CLIP model, the label/template/tokenizer errors, the text-embedding cache.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "child_run.h"
#include "hub_test_util.h"
#include "test_util.h"

namespace vit::test {
namespace {

namespace fs = std::filesystem;

const char* const kLabels[] = {"a cat", "crème brûlée", "猫", "a red car", "Smørrebrød"};

class ZeroShot : public ::testing::Test {
 protected:
  void SetUp() override {
    VIT_REQUIRE_FILE(model_dir() + "/reference.json");
    VIT_REQUIRE_FILE(bpe());
    std::string text;
    for (const char* l : kLabels) text += std::string(l) + "\n";
    write_bytes(labels_file(), text);
    fs::create_directories(tmp_.file("cache"));
    fs::create_directories(tmp_.file("run"));
  }
  static std::string model_dir() { return fixtures() + "/clip/tiny_typed"; }
  static std::string bpe() { return shared() + "/reference/open_clip/bpe_simple_vocab_16e6.txt.gz"; }
  static std::string cat() { return skimage("chelsea.png"); }
  std::string labels_file() const { return tmp_.file("labels.txt"); }
  std::string cache_dir() const { return tmp_.file("cache"); }
  // The binary with its text-embedding cache in this test's folder (never the user's).
  ChildRun run(const std::vector<std::string>& args) const {
    ScopedEnv cache("VIT_CLASSIFY_CACHE", cache_dir().c_str());
    return run_binary(args, tmp_.file("run"));
  }
  // -m tiny_typed --labels-file --tokenizer, then `more`.
  ChildRun classify(const std::vector<std::string>& more) const {
    std::vector<std::string> args{"-m", model_dir(), "--labels-file", labels_file(), "--tokenizer", bpe()};
    args.insert(args.end(), more.begin(), more.end());
    return run(args);
  }
  std::vector<std::string> cache_files() const {
    std::vector<std::string> found;
    for (const auto& e : fs::recursive_directory_iterator(cache_dir()))
      if (e.is_regular_file()) found.push_back(e.path().string());
    return found;
  }
  // A usage error: exit 2, a message naming the fault, nothing on stdout.
  static void expect_usage_error(const ChildRun& r, const std::string& fault) {
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find(fault), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
  TempDir tmp_;
};

using ZeroShotExplain = ZeroShot;
using ZeroShotEval = ZeroShot;
using ZeroShotErrors = ZeroShot;
using ZeroShotTokenizer = ZeroShot;
using ZeroShotCache = ZeroShot;
using ZeroShotLabels = ZeroShot;

TEST_F(ZeroShotExplain, ExplainsTheImageTowerAndNamesClassifysTopLabel) {
  const ChildRun c = classify({"--format", "json", cat()});
  ASSERT_EQ(c.code, 0) << c.err;
  const std::string top = json_records(c.out).at(0)["predictions"][0]["label"];
  const std::string out = tmp_.file("explain");
  const ChildRun e = run({"explain", "-m", model_dir(), "--labels-file", labels_file(), "--tokenizer", bpe(), cat(),
                          "-o", out, "--format", "json"});
  ASSERT_EQ(e.code, 0) << e.err;
  for (const char* f : {"input.png", "patches.png", "position_embedding.png", "attention/layer2_heads.png",
                        "attention/layer2_head1_matrix.png", "rollout.png", "result.png", "index.html"})
    EXPECT_TRUE(exists(out + "/" + f)) << f;
  EXPECT_EQ(json_records(e.out).at(0)["predictions"][0]["label"], top) << e.out;
  const auto j = nlohmann::json::parse(read_bytes(out + "/explain.json"));
  EXPECT_EQ(j["predictions"][0]["label"], top);
  const auto cfg = nlohmann::json::parse(read_bytes(model_dir() + "/open_clip_config.json"));
  EXPECT_EQ(j["layers"], cfg["model_cfg"]["vision_cfg"]["layers"]);  // the image tower's depth, not the text's
  EXPECT_EQ(j["grid"], 7);                                           // 224 / 32
}

TEST_F(ZeroShotEval, ImageFolderNamedByTheLabels) {
  const std::string set = tmp_.file("set");
  for (const std::string cls : {"a cat", "猫"}) {
    fs::create_directories(set + "/" + cls);
    fs::create_symlink(cat(), set + "/" + cls + "/one.png");
    fs::create_symlink(skimage(cls == "a cat" ? "astronaut.png" : "coffee.png"), set + "/" + cls + "/two.png");
  }
  const ChildRun r =
      run({"eval", "-m", model_dir(), "--labels-file", labels_file(), "--tokenizer", bpe(), "--format", "json", set});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report["images"], 4);
  EXPECT_EQ(report["top1"]["total"], 4);
  EXPECT_NE(report["dataset"].get<std::string>().find("2 classes"), std::string::npos) << r.out;

  fs::create_directories(set + "/a kat");  // one letter off a label
  fs::create_symlink(cat(), set + "/a kat/one.png");
  const ChildRun bad = run({"eval", "-m", model_dir(), "--labels-file", labels_file(), "--tokenizer", bpe(), set});
  EXPECT_EQ(bad.code, 2) << bad.err;
  EXPECT_NE(bad.err.find("'a kat' names no class"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("did you mean 'a cat'?"), std::string::npos) << bad.err;
  EXPECT_EQ(bad.out, "");
}

TEST_F(ZeroShotErrors, TemplateWithAViTClassifier) {
  const std::string vit = fixtures() + "/small/timm.safetensors";
  VIT_REQUIRE_FILE(vit);
  expect_usage_error(run({"-m", vit, "--template", "a photo of a {}.", cat()}), "--template is for CLIP models");
}

TEST_F(ZeroShotErrors, EmptyLabel) {
  expect_usage_error(run({"-m", model_dir(), "--tokenizer", bpe(), "--labels", "a,,b", cat()}), "label 2 is empty");
}

TEST_F(ZeroShotErrors, LabelGivenTwice) {
  expect_usage_error(run({"-m", model_dir(), "--tokenizer", bpe(), "--labels", "a,b,a", cat()}),
                     "the label 'a' is given twice");
}

TEST_F(ZeroShotErrors, LabelsAndLabelsFileTogether) {
  expect_usage_error(classify({"--labels", "a,b", cat()}), "--labels and --labels-file both given");
}

TEST_F(ZeroShotErrors, TemplateWithoutBraces) {
  expect_usage_error(classify({"--template", "a photo", cat()}), "'a photo' holds no {}");
}

TEST_F(ZeroShotErrors, LabelsFileWithAnEmptyLine) {
  write_bytes(labels_file(), "a cat\n\na dog\n");
  expect_usage_error(classify({cat()}), "label 2 is empty");
}

// --template takes one value: the photos after it are inputs, not more templates.
TEST_F(ZeroShotErrors, TemplateTakesOneValue) {
  const ChildRun r = classify({"--template", "a photo of a {}.", "--format", "json", cat()});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto recs = json_records(r.out);
  ASSERT_EQ(recs.size(), 1u) << r.out;
  EXPECT_EQ(recs[0]["file"], cat());
}

TEST_F(ZeroShotTokenizer, NoneAnywhereIsAModelError) {
  ASSERT_FALSE(exists(model_dir() + "/vocab.json"));  // tiny_typed has no tokenizer beside it
  const std::string empty = tmp_.file("hf");
  fs::create_directories(empty);
  ScopedEnv hub("HF_HUB_CACHE", empty.c_str()), home("HF_HOME", empty.c_str()), xdg("XDG_CACHE_HOME", empty.c_str());
  ScopedEnv tokenizer("VIT_CLASSIFY_TOKENIZER", nullptr);
  const ChildRun r = run({"-m", model_dir(), "--labels", "a cat,a dog", cat()});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("--tokenizer"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(ZeroShotCache, WrittenOnceReadBackAndRepaired) {
  const std::vector<std::string> args{"--format", "json", "--digits", "full", cat()};
  const ChildRun first = classify(args);
  ASSERT_EQ(first.code, 0) << first.err;
  const auto files = cache_files();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(fs::path(files[0]).extension(), ".f32");
  const std::string written = read_bytes(files[0]);

  const ChildRun second = classify(args);
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_EQ(second.out, first.out);
  EXPECT_EQ(second.err.find("warning"), std::string::npos) << second.err;

  std::string damaged = written;
  damaged[damaged.size() / 2] = static_cast<char>(damaged[damaged.size() / 2] ^ 0x40);
  write_bytes(files[0], damaged);
  const ChildRun third = classify(args);
  ASSERT_EQ(third.code, 0) << third.err;
  EXPECT_NE(third.err.find("warning"), std::string::npos) << third.err;
  EXPECT_NE(third.err.find(files[0]), std::string::npos) << third.err;
  EXPECT_EQ(third.out, first.out);
  EXPECT_EQ(cache_files().size(), 1u);
  EXPECT_EQ(read_bytes(files[0]), written);  // rewritten whole
}

TEST_F(ZeroShotLabels, LabelsNamingAFileReadsIt) {
  const ChildRun by_file = classify({"--format", "json", cat()});
  ASSERT_EQ(by_file.code, 0) << by_file.err;
  const ChildRun by_labels =
      run({"-m", model_dir(), "--labels", labels_file(), "--tokenizer", bpe(), "--format", "json", cat()});
  ASSERT_EQ(by_labels.code, 0) << by_labels.err;
  EXPECT_EQ(by_labels.out, by_file.out);
  EXPECT_EQ(json_records(by_labels.out).at(0)["predictions"].size(), 5u);
}

}  // namespace
}  // namespace vit::test
