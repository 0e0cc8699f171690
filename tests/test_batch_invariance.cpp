// Batch-invariant records: the same photo gets the same bytes whatever batch, shard, resume or
// math threads it ran in, with --deterministic (issue 25). Runs the CLI in process on ViT-Ti over
// the shared photos.
#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "test_util.h"

namespace t = vit::test;

namespace {

class BatchInvariance : public ::testing::Test {
 protected:
  void SetUp() override {
    VIT_REQUIRE_FILE(t::real_weights());
    const std::string dir = t::shared() + "/images/imagenet";
    if (DIR* d = ::opendir(dir.c_str())) {
      while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name.size() > 4 && name.substr(name.size() - 4) == ".png") photos_.push_back(dir + "/" + name);
      }
      ::closedir(d);
    }
    std::sort(photos_.begin(), photos_.end());
    if (photos_.size() < 9) GTEST_SKIP() << "needs the shared ImageNet photos in " << dir;
  }

  // Full digits and the logits: a difference in the last bit of a float shows.
  std::vector<std::string> args(std::vector<std::string> extra, const std::vector<std::string>& inputs) const {
    std::vector<std::string> a = {"-m", t::real_weights(), "-k", "5", "--format", "json"};
    a.insert(a.end(), {"--digits", "full", "--logits", "--no-progress", "-q", "--deterministic"});
    a.insert(a.end(), extra.begin(), extra.end());
    a.insert(a.end(), inputs.begin(), inputs.end());
    return a;
  }

  // Each record line of a JSON-lines output, by its input path (every record must be ok).
  static std::map<std::string, std::string> by_file(const std::string& text) {
    std::map<std::string, std::string> lines;
    for (const auto& line : t::lines(text)) {
      const auto record = nlohmann::json::parse(line);
      EXPECT_TRUE(record["ok"].get<bool>()) << line;
      lines[record["file"].get<std::string>()] = line;
    }
    return lines;
  }

  std::map<std::string, std::string> run(const std::vector<std::string>& extra) const { return run_on(extra, photos_); }
  std::map<std::string, std::string> run_on(const std::vector<std::string>& extra,
                                            const std::vector<std::string>& inputs) const {
    const t::CliRun r = t::run_cli_capture(args(extra, inputs));
    EXPECT_EQ(r.code, 0) << r.err;
    return by_file(r.out);
  }

  // Every record of `got` byte for byte as in `want` (batch size 1's), for the same inputs:
  // all of them, or the half that a shard holds.
  static void expect_same(const std::map<std::string, std::string>& want, const std::map<std::string, std::string>& got,
                          const std::string& what, size_t records) {
    EXPECT_EQ(got.size(), records) << what;
    int differ = 0;
    for (const auto& [file, line] : got) {
      const auto it = want.find(file);
      if (it == want.end()) {
        ADD_FAILURE() << what << ": " << file << " is not an input";
        continue;
      }
      if (it->second != line && ++differ <= 2)
        ADD_FAILURE() << what << ": " << file << " differs from batch size 1:\n  " << it->second << "\n  " << line;
    }
    EXPECT_EQ(differ, 0) << what << ": records that differ from batch size 1, of " << got.size();
  }

  std::vector<std::string> photos_;
};

TEST_F(BatchInvariance, Fp32RecordsAreTheSameBytesForEveryBatchSizeShardAndResume) {
  const auto one = run({"--batch-size", "1"});
  ASSERT_EQ(one.size(), photos_.size());
  expect_same(one, run({"--batch-size", "3"}), "--batch-size 3", photos_.size());
  expect_same(one, run({"--batch-size", "8"}), "--batch-size 8", photos_.size());

  // Two shards, concatenated: other images share each batch.
  auto shards = run({"--batch-size", "8", "--shard", "1/2"});
  const auto second = run({"--batch-size", "8", "--shard", "2/2"});
  shards.insert(second.begin(), second.end());
  expect_same(one, shards, "--shard 1/2 + 2/2", photos_.size());

  // A run cut short (the first 5 photos, batch size 2), then finished with --resume.
  t::TempDir dir;
  const std::string out = dir.file("records.jsonl");
  const std::vector<std::string> first(photos_.begin(), photos_.begin() + 5);
  ASSERT_EQ(t::run_cli_capture(args({"--batch-size", "2", "-o", out}, first)).code, 0);
  const t::CliRun resumed = t::run_cli_capture(args({"--batch-size", "8", "-o", out, "--resume"}, photos_));
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  expect_same(one, by_file(t::read_bytes(out)), "--resume", photos_.size());
}

// One worker, so that the math threads are the product's own (several inputs otherwise get a
// worker per thread, each single-threaded); and one photo alone (one worker, every thread).
TEST_F(BatchInvariance, Fp32RecordsAreTheSameBytesWithOneOrTwoMathThreads) {
  const auto one = run({"--batch-size", "1", "--workers", "1", "--threads", "1"});
  expect_same(one, run({"--batch-size", "8", "--workers", "1", "--threads", "2"}), "--threads 2, batch 8",
              photos_.size());
  expect_same(one, run({"--batch-size", "3", "--workers", "1", "--threads", "1"}), "--threads 1, batch 3",
              photos_.size());
  const std::vector<std::string> alone = {photos_[4]};
  const auto single = run_on({"--threads", "2"}, alone);
  ASSERT_EQ(single.size(), 1u);
  EXPECT_EQ(single.begin()->second, one.at(photos_[4])) << "one photo alone, two threads";
}

TEST_F(BatchInvariance, Int8RecordsAreTheSameBytesForEveryBatchSize) {
  const auto one = run({"--precision", "int8", "--batch-size", "1"});
  expect_same(one, run({"--precision", "int8", "--batch-size", "8"}), "int8, --batch-size 8", photos_.size());
  expect_same(one, run({"--precision", "int8", "--batch-size", "3", "--shard", "1/2"}), "int8, --shard 1/2",
              (photos_.size() + 1) / 2);
}

}  // namespace
