// eval: labelled sets (ImageFolder, CSV/TSV), class matching, the tally and its intervals, and
// the subcommand on the shared labelled ImageNet photos; -m with a model folder or a Hugging
// Face repository id in the cache; the models listing.
#include <dirent.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "test_util.h"
#include "vit/batch/evaluation.h"
#include "vit/errors.h"
#include "vit/io/files.h"

namespace vit::test {
namespace {

const Labels& imagenet() { return Labels::imagenet1k(); }

TEST(EvalSet, ClassesAreMatchedByWordNetIdIndexOrLabel) {
  EXPECT_EQ(match_class("n01440764", imagenet(), "x"), 0);
  EXPECT_EQ(match_class("285", imagenet(), "x"), 285);
  EXPECT_EQ(match_class("Egyptian cat", imagenet(), "x"), 285);
  EXPECT_EQ(match_class("egyptian_cat", imagenet(), "x"), 285);
  EXPECT_EQ(match_class("church", imagenet(), "x"), 497);  // one of "church, church building"
  EXPECT_EQ(match_class("church, church building", imagenet(), "x"), 497);
  EXPECT_EQ(match_class("maillot", imagenet(), "x"), 638);  // the exact label wins over 639's part
  EXPECT_EQ(match_class("tank suit", imagenet(), "x"), 639);
  try {
    match_class("crane", imagenet(), "folder 'crane'");
    FAIL() << "'crane' names two classes";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("134 'crane'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("517 'crane'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(match_class("1000", imagenet(), "x"), UsageError);
  EXPECT_THROW(match_class("n99999999", imagenet(), "x"), UsageError);
  EXPECT_THROW(match_class("not a class", imagenet(), "x"), UsageError);
  EXPECT_THROW(match_class("", imagenet(), "x"), UsageError);
}

TEST(EvalSet, WilsonIntervalsMatchTheFormula) {
  // Values from statsmodels' proportion_confint(method="wilson"), recomputed in Python.
  const Proportion a = wilson_interval(16, 17);
  EXPECT_NEAR(a.value, 16.0 / 17, 1e-12);
  EXPECT_NEAR(a.low, 0.7301796936242461, 1e-9);
  EXPECT_NEAR(a.high, 0.9895395990150025, 1e-9);
  const Proportion b = wilson_interval(17, 17);
  EXPECT_NEAR(b.low, 0.8156818649911483, 1e-9);
  EXPECT_DOUBLE_EQ(b.high, 1.0);
  const Proportion c = wilson_interval(50, 100);
  EXPECT_NEAR(c.low, 0.4038315303659956, 1e-9);
  EXPECT_NEAR(c.high, 0.5961684696340044, 1e-9);
  const Proportion d = wilson_interval(0, 5);
  EXPECT_DOUBLE_EQ(d.low, 0.0);
  EXPECT_NEAR(d.high, 0.43448246478317476, 1e-9);
  EXPECT_EQ(wilson_interval(0, 0).total, 0u);
}

TEST(EvalSet, TallyCountsTopOneTopFiveWorstClassesAndConfusions) {
  EvalTally t;
  t.add(1, {1, 2, 3, 4, 5, 6});  // top-1
  t.add(1, {2, 1, 3, 4, 5, 6});  // top-5 only, 1 -> 2
  t.add(2, {1, 3, 4, 5, 6, 2});  // sixth: neither, 2 -> 1
  t.add(2, {1, 2, 3, 4, 5, 6});  // top-5, 2 -> 1
  t.add(3, {3, 1, 2, 4, 5, 6});  // top-1
  t.add_failure();
  const EvalReport r = t.report(10, 10);
  EXPECT_EQ(r.images, 5u);
  EXPECT_EQ(r.failed, 1u);
  EXPECT_EQ(r.top1.hits, 2u);
  EXPECT_EQ(r.top5.hits, 4u);
  ASSERT_EQ(r.worst.size(), 2u);  // class 3 has no miss
  EXPECT_EQ(r.worst[0].index, 2);
  EXPECT_EQ(r.worst[0].top1, 0u);
  EXPECT_EQ(r.worst[1].index, 1);
  ASSERT_EQ(r.confusions.size(), 2u);
  EXPECT_EQ(r.confusions[0].truth, 2);
  EXPECT_EQ(r.confusions[0].predicted, 1);
  EXPECT_EQ(r.confusions[0].count, 2u);
  EXPECT_EQ(t.report(1, 1).worst.size(), 1u);
  EXPECT_EQ(t.report(1, 1).confusions.size(), 1u);
}

TEST(EvalSet, CsvListsWithHeaderQuotesAndRelativePaths) {
  TempDir d;
  write_bytes(d.file("set.csv"), "file,label\n\"a, b.jpg\",n01440764\n/abs/c.png,Egyptian cat\r\n\nsub/d.jpg,7\n");
  const LabelledSet s = LabelledSet::read(d.file("set.csv"), imagenet());
  const InputOptions io = s.inputs();
  ASSERT_EQ(io.paths.size(), 3u);
  EXPECT_EQ(io.paths[0], d.file("a, b.jpg"));
  EXPECT_EQ(io.paths[1], "/abs/c.png");
  EXPECT_EQ(s.class_of(d.file("a, b.jpg")), 0);
  EXPECT_EQ(s.class_of("/abs/c.png"), 285);
  EXPECT_EQ(s.class_of(d.file("sub/d.jpg")), 7);
  EXPECT_EQ(s.class_of(d.file("other.jpg")), -1);
  write_bytes(d.file("set.tsv"), "x.jpg\ttench\n");
  EXPECT_EQ(LabelledSet::read(d.file("set.tsv"), imagenet()).class_of(d.file("x.jpg")), 0);
  write_bytes(d.file("dup.csv"), "x.jpg,1\nx.jpg,2\n");
  EXPECT_THROW(LabelledSet::read(d.file("dup.csv"), imagenet()), UsageError);
  write_bytes(d.file("bad.csv"), "x.jpg\n");
  EXPECT_THROW(LabelledSet::read(d.file("bad.csv"), imagenet()), UsageError);
  write_bytes(d.file("unknown.csv"), "x.jpg,no such class\n");
  EXPECT_THROW(LabelledSet::read(d.file("unknown.csv"), imagenet()), UsageError);
  write_bytes(d.file("empty.csv"), "file,label\n");
  EXPECT_THROW(LabelledSet::read(d.file("empty.csv"), imagenet()), UsageError);
  EXPECT_THROW(LabelledSet::read(d.file("missing.csv"), imagenet()), UsageError);
}

// Excel's "CSV UTF-8" starts with a byte order mark, which made the header a data row; a quoted
// field may hold a line break (RFC 4180), which was refused as a short row.
TEST(EvalSet, CsvWithByteOrderMarkAndLineBreaksInQuotes) {
  TempDir d;
  write_bytes(d.file("bom.csv"),
              "\xEF\xBB\xBF"
              "file,label\r\nx.jpg,tench\r\n");
  const LabelledSet bom = LabelledSet::read(d.file("bom.csv"), imagenet());
  ASSERT_EQ(bom.inputs().paths.size(), 1u);
  EXPECT_EQ(bom.class_of(d.file("x.jpg")), 0);
  write_bytes(d.file("multi.csv"), "file,label\n\"two\nlines.jpg\",\"Egyptian\ncat\"\ny.jpg,\"say \"\"tench\"\"\"\n");
  std::string error;
  try {
    LabelledSet::read(d.file("multi.csv"), imagenet());
  } catch (const UsageError& e) {
    error = e.what();
  }
  // The label "Egyptian\ncat" names no class: the error is about the label, on the row's first line.
  EXPECT_NE(error.find("multi.csv:2: 'Egyptian\ncat' names no class"), std::string::npos) << error;
  write_bytes(d.file("multi.csv"), "file,label\n\"two\nlines.jpg\",n01440764\nz.jpg,285\n");
  const LabelledSet multi = LabelledSet::read(d.file("multi.csv"), imagenet());
  ASSERT_EQ(multi.inputs().paths.size(), 2u);
  EXPECT_EQ(multi.class_of(d.file("two\nlines.jpg")), 0);
  EXPECT_EQ(multi.class_of(d.file("z.jpg")), 285);
  write_bytes(d.file("open.csv"), "file,label\n\"x.jpg,0\n");
  try {
    LabelledSet::read(d.file("open.csv"), imagenet());
    FAIL() << "an unclosed quote is an error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("open.csv:2: a quoted field is not closed"), std::string::npos) << e.what();
  }
}

// Labels by name were matched by a pass over every label per row (1.2 ms a row: 2 minutes for
// 100,000 rows before the first image); they are looked up in maps built once.
TEST(EvalSet, ARowLabelledByNameCostsALookup) {
  TempDir d;
  std::string csv = "file,label\n";
  for (int i = 0; i < 100000; ++i)
    csv += "img" + std::to_string(i) + ".jpg," + (i % 2 ? "Egyptian cat" : "tench") + "\n";
  write_bytes(d.file("big.csv"), csv);
  const auto start = std::chrono::steady_clock::now();
  const LabelledSet s = LabelledSet::read(d.file("big.csv"), imagenet());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(s.class_of(d.file("img99999.jpg")), 285);
  std::printf("[ measured ] 100000 rows labelled by name read in %.2f s\n", seconds);
  EXPECT_LT(seconds, 10.0);
}

TEST(EvalSet, ImageFolderClassesByAnyName) {
  TempDir d;
  for (const char* f : {"n01440764", "285", "tiger_cat"}) ::mkdir(d.file(f).c_str(), 0755);
  write_bytes(d.file("loose.jpg"), "x");
  const LabelledSet s = LabelledSet::read(d.path(), imagenet());
  const InputOptions io = s.inputs();
  EXPECT_TRUE(io.recursive);
  ASSERT_EQ(io.paths.size(), 3u);
  EXPECT_EQ(s.class_of(d.path() + "/n01440764/a/b.jpg"), 0);
  EXPECT_EQ(s.class_of(d.path() + "/285/x.png"), 285);
  EXPECT_EQ(s.class_of(d.path() + "/tiger_cat/x.png"), 282);
  EXPECT_EQ(s.class_of(d.path() + "/loose.jpg"), -1);
  ::mkdir(d.file("crane").c_str(), 0755);
  EXPECT_THROW(LabelledSet::read(d.path(), imagenet()), UsageError);
  TempDir empty;
  EXPECT_THROW(LabelledSet::read(empty.path(), imagenet()), UsageError);
}

// The shared labelled photos (true WordNet id in each name) as an ImageFolder of symlinks.
std::vector<std::string> shared_photos() {
  std::vector<std::string> names;
  if (DIR* d = ::opendir((shared() + "/images/imagenet").c_str())) {
    while (dirent* e = ::readdir(d))
      if (std::string(e->d_name).size() > 10 && std::string(e->d_name)[0] == 'n') names.emplace_back(e->d_name);
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

class Eval : public ::testing::Test {
 protected:
  void SetUp() override {
    VIT_REQUIRE_FILE(real_weights());
    VIT_REQUIRE_FILE(shared() + "/images/imagenet");
    photos_ = shared_photos();
    ASSERT_EQ(photos_.size(), 17u);
    std::string csv = "file,label\n";
    for (const auto& p : photos_) {
      const std::string wnid = p.substr(0, 9), src = shared() + "/images/imagenet/" + p;
      ::mkdir(dir_.file(wnid).c_str(), 0755);
      ASSERT_EQ(::symlink(src.c_str(), (dir_.file(wnid) + "/" + p).c_str()), 0);
      csv += src + "," + wnid + "\n";
    }
    write_bytes(list_.file("set.csv"), csv);
  }
  TempDir dir_, list_;
  std::vector<std::string> photos_;
};

TEST_F(Eval, SharedPhotosAsImageFolderAndCsvAre17Of17) {
  const CliRun text = run_cli_capture({"eval", "-m", real_weights(), "--threads", "2", dir_.path()});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("top-1:   100.00% (17/17), 95% CI 81.6%-100.0%"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("17 classes"), std::string::npos) << text.out;
  const CliRun json = run_cli_capture({"eval", "-m", real_weights(), "--format", "json", list_.file("set.csv")});
  ASSERT_EQ(json.code, 0) << json.err;
  const auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["images"], 17);
  EXPECT_EQ(j["top1"]["correct"], 17);
  EXPECT_EQ(j["top5"]["correct"], 17);
  EXPECT_NEAR(j["top1"]["ci95"][0].get<double>(), 0.8157, 1e-4);
  EXPECT_GT(j["images_per_second"].get<double>(), 0);
  EXPECT_TRUE(j["worst_classes"].empty());
}

TEST_F(Eval, RecordsCarryTheTruthAndEqualClassifysRecords) {
  const CliRun e = run_cli_capture({"eval", "-m", real_weights(), dir_.path(), "-o", list_.file("eval.jsonl")});
  ASSERT_EQ(e.code, 0) << e.err;
  const auto records = json_records(read_bytes(list_.file("eval.jsonl")));
  ASSERT_EQ(records.size(), 17u);
  const CliRun c = run_cli_capture({"-m", real_weights(), "-r", dir_.path(), "--format", "json"});
  ASSERT_EQ(c.code, 0) << c.err;
  const auto classified = json_records(c.out);
  ASSERT_EQ(classified.size(), 17u);
  for (size_t i = 0; i < records.size(); ++i) {
    const std::string wnid = records[i]["file"].get<std::string>().substr(dir_.path().size() + 1, 9);
    EXPECT_EQ(records[i]["true_index"].get<int>(), match_class(wnid, imagenet(), "test"));
    EXPECT_EQ(records[i]["file"], classified[i]["file"]);
    EXPECT_EQ(records[i]["predictions"], classified[i]["predictions"]);
  }
  // CSV records: the truth columns after error.
  const CliRun csv = run_cli_capture({"eval", "-m", real_weights(), dir_.path(), "-o", list_.file("eval.csv")});
  ASSERT_EQ(csv.code, 0) << csv.err;
  EXPECT_EQ(lines(read_bytes(list_.file("eval.csv")))[0].rfind("file,ok,error,true_index,true_label,index_1,", 0), 0u);
}

TEST_F(Eval, UnreadableImagesAreCountedApartAndResumeFinishesTheCount) {
  write_bytes(dir_.file("n01514668") + "/broken.jpg", "not a jpeg");
  const std::string out = list_.file("r.jsonl");
  const CliRun first = run_cli_capture({"eval", "-m", real_weights(), dir_.path(), "-o", out});
  EXPECT_EQ(first.code, 1) << first.err;
  EXPECT_NE(first.out.find("17 classified, 1 unreadable"), std::string::npos) << first.out;
  // Keep the first 6 records as if the run had been stopped, then resume.
  const auto all = lines(read_bytes(out));
  ASSERT_EQ(all.size(), 18u);
  std::string head;
  for (size_t i = 0; i < 6; ++i) head += all[i] + "\n";
  write_bytes(out, head + all[6].substr(0, 20));  // and a torn line
  const CliRun resumed =
      run_cli_capture({"eval", "-m", real_weights(), dir_.path(), "-o", out, "--resume", "--format", "json"});
  EXPECT_EQ(resumed.code, 1) << resumed.err;
  const auto j = nlohmann::json::parse(resumed.out);
  EXPECT_EQ(j["images"], 17);
  EXPECT_EQ(j["unreadable"], 1);
  EXPECT_EQ(j["top1"]["correct"], 17);
  EXPECT_EQ(lines(read_bytes(out)).size(), 18u);
}

TEST(EvalCli, BadCommandLinesAreUsageErrors) {
  EXPECT_EQ(run_cli_capture({"eval"}).code, 2);
  EXPECT_EQ(run_cli_capture({"eval", "a", "b"}).code, 2);
  EXPECT_EQ(run_cli_capture({"eval", "--format", "csv", "a"}).code, 2);
  EXPECT_EQ(run_cli_capture({"eval", "--records-format", "text", "a"}).code, 2);
  EXPECT_EQ(run_cli_capture({"eval", "--resume", "a"}).code, 2);
  EXPECT_EQ(run_cli_capture({"eval", "-o", "-", "a"}).code, 2);
  EXPECT_EQ(run_cli_capture({"eval", "-o", "x.csv", "--resume", "a"}).code, 2);
}

// An ImageFolder whose class folders hold no images printed accuracy 0.0 with CI [0, 0] and
// exited 0; it is a usage error (exit 2, as no inputs are).
TEST(EvalCli, AnImageFolderWithoutImagesIsAnError) {
  const std::string model = fixtures() + "/small/hf/model.safetensors";
  ASSERT_TRUE(exists(model)) << "run the make_fixtures test first";
  TempDir d;
  ::mkdir(d.file("0").c_str(), 0755);
  ::mkdir(d.file("1").c_str(), 0755);
  write_bytes(d.file("1/notes.txt"), "not an image");
  const CliRun r = run_cli_capture({"eval", "-m", model, "--no-progress", d.path()});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("holds no images to evaluate"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("top-1"), std::string::npos) << r.out;
}

// -m DIR: the folder's model.safetensors with its config.json, as from_pretrained reads it.
TEST(ModelFolder, AFolderIsItsModelSafetensors) {
  VIT_REQUIRE_FILE(fixtures() + "/small/hf/model.safetensors");
  const std::string photo = skimage("chelsea.png");
  const CliRun file = run_cli_capture({"-m", fixtures() + "/small/hf/model.safetensors", "--format", "json", photo});
  const CliRun dir = run_cli_capture({"-m", fixtures() + "/small/hf", "--format", "json", photo});
  ASSERT_EQ(file.code, 0) << file.err;
  ASSERT_EQ(dir.code, 0) << dir.err;
  EXPECT_EQ(json_records(file.out)[0]["predictions"], json_records(dir.out)[0]["predictions"]);
  TempDir d;
  const CliRun none = run_cli_capture({"-m", d.path(), photo});
  EXPECT_EQ(none.code, 3);
  EXPECT_NE(none.err.find("holds no model"), std::string::npos) << none.err;
  write_bytes(d.file("a.safetensors"), "x");
  write_bytes(d.file("b.pth"), "x");
  const CliRun two = run_cli_capture({"-m", d.path(), photo});
  EXPECT_EQ(two.code, 3);
  EXPECT_NE(two.err.find("a.safetensors, b.pth"), std::string::npos) << two.err;
}

// A cache laid out as huggingface_hub lays it out, written by hand.
struct HandMadeCache {
  TempDir root;
  std::string repo = root.path() + "/hub/models--acme--tiny-vit";
  explicit HandMadeCache(const std::string& weights) {
    const std::string commit(40, 'a');
    make_dirs(repo + "/refs");
    make_dirs(repo + "/blobs");
    make_dirs(repo + "/snapshots/" + commit);
    write_bytes(repo + "/refs/main", commit);
    write_bytes(repo + "/blobs/0123", read_bytes(weights));
    EXPECT_EQ(::symlink("../../blobs/0123", (repo + "/snapshots/" + commit + "/model.safetensors").c_str()), 0);
  }
};

class HubCli : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"HF_HUB_CACHE", "HF_HOME", "HF_HUB_OFFLINE", "HF_ENDPOINT", "VIT_CLASSIFY_MODEL"}) {
      if (const char* s = std::getenv(v)) saved_[v] = s;
      ::unsetenv(v);
    }
  }
  void TearDown() override {
    for (const char* v : {"HF_HUB_CACHE", "HF_HOME", "HF_HUB_OFFLINE", "HF_ENDPOINT", "VIT_CLASSIFY_MODEL"})
      ::unsetenv(v);
    for (const auto& [k, v] : saved_) ::setenv(k.c_str(), v.c_str(), 1);
  }
  std::map<std::string, std::string> saved_;
};

TEST_F(HubCli, ARepositoryIdIsFoundInTheCacheOffline) {
  VIT_REQUIRE_FILE(fixtures() + "/small/hf/model.safetensors");
  HandMadeCache cache(fixtures() + "/small/timm.safetensors");
  ::setenv("HF_HOME", cache.root.path().c_str(), 1);  // the cache is $HF_HOME/hub
  const std::string photo = skimage("chelsea.png");
  const CliRun direct = run_cli_capture({"-m", fixtures() + "/small/timm.safetensors", "--heads", "3", photo});
  const CliRun hub = run_cli_capture({"-m", "acme/tiny-vit", "--offline", "--heads", "3", photo});
  ASSERT_EQ(hub.code, 0) << hub.err;
  EXPECT_EQ(hub.out, direct.out);
  ::setenv("VIT_CLASSIFY_MODEL", "acme/tiny-vit", 1);
  ::setenv("HF_HUB_OFFLINE", "1", 1);
  EXPECT_EQ(run_cli_capture({"--heads", "3", photo}).out, direct.out);
  const CliRun listed = run_cli_capture({"models", "--format", "json"});
  ASSERT_EQ(listed.code, 0) << listed.err;
  const auto j = json_records(listed.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["repo_id"], "acme/tiny-vit");
  EXPECT_EQ(j[0]["refs"], nlohmann::json::array({"main"}));
  EXPECT_EQ(j[0]["files"], nlohmann::json::array({"model.safetensors"}));
}

TEST_F(HubCli, OfflineWithoutTheModelSaysWhereItLooked) {
  TempDir cache;
  ::setenv("HF_HUB_CACHE", cache.path().c_str(), 1);
  const CliRun r = run_cli_capture({"-m", "acme/missing-vit@v2", "--offline", skimage("chelsea.png")});
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("acme/missing-vit"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(cache.path()), std::string::npos) << r.err;
  // A path-like name that does not exist is a missing file, not a repository id.
  const CliRun file = run_cli_capture({"-m", "models/none.safetensors", skimage("chelsea.png")});
  EXPECT_EQ(file.code, 3);
  EXPECT_EQ(file.err.find("Hugging Face"), std::string::npos) << file.err;
  EXPECT_EQ(run_cli_capture({"models", "--fetch", "not a repo"}).code, 2);
}

}  // namespace
}  // namespace vit::test
