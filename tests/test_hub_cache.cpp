// What a model fetched by repository id leaves in records and in the `models` listing: the id
// as named with the revision asked and the commit resolved (not the snapshot path), and the
// size of a cache copied without its links (scp -r).
#include <gtest/gtest.h>

#include "hub_test_util.h"

namespace vit::test {
namespace {

// issue 23, defect 4: `-m acme/tiny` wrote the snapshot's path as "model"; README says the
// model is named as the user named it.
TEST_F(Hub, RecordsNameARepositoryAsGivenWithTheRevisionAndCommit) {
  VIT_REQUIRE_FILE(fixtures() + "/small/timm.safetensors");
  const std::string weights = fixtures() + "/small/timm.safetensors";
  server_->add_commit("acme/tiny", kC1, {{"model.safetensors", read_bytes(weights)}});
  server_->set_refs("acme/tiny", {{"main", kC1}, {"v1", kC1}});
  const ScopedEnv cache("HF_HUB_CACHE", settings_.cache_dir.c_str()),
      endpoint("HF_ENDPOINT", settings_.endpoint.c_str());
  const ScopedEnv online("HF_HUB_OFFLINE", nullptr), model("VIT_CLASSIFY_MODEL", nullptr);
  const std::string photo = skimage("chelsea.png");
  const CliRun hub = run_cli_capture({"-m", "acme/tiny", "--heads", "3", "--format", "json", photo});
  ASSERT_EQ(hub.code, 0) << hub.err;
  const auto r = json_records(hub.out);
  ASSERT_EQ(r.size(), 1u) << hub.out;
  EXPECT_EQ(r[0]["model"], "acme/tiny") << hub.out;
  EXPECT_EQ(r[0]["revision"], "main") << hub.out;
  EXPECT_EQ(r[0]["commit"], kC1) << hub.out;
  EXPECT_EQ(r[0]["model_sha256"], sha256_file(weights));
  const CliRun tagged = run_cli_capture({"-m", "acme/tiny@v1", "--heads", "3", "--format", "json", photo});
  ASSERT_EQ(tagged.code, 0) << tagged.err;
  const auto t = json_records(tagged.out);
  ASSERT_EQ(t.size(), 1u) << tagged.out;
  EXPECT_EQ(t[0]["model"], "acme/tiny");
  EXPECT_EQ(t[0]["revision"], "v1");
  EXPECT_EQ(t[0]["commit"], kC1);
  // A file keeps its path as given, with no revision or commit.
  const CliRun file = run_cli_capture({"-m", weights, "--heads", "3", "--format", "json", photo});
  ASSERT_EQ(file.code, 0) << file.err;
  const auto f = json_records(file.out);
  ASSERT_EQ(f.size(), 1u) << file.out;
  EXPECT_EQ(f[0]["model"], weights);
  EXPECT_FALSE(f[0].contains("revision")) << file.out;
  EXPECT_FALSE(f[0].contains("commit")) << file.out;
}

// A repository folder as `scp -r` copies it: the snapshot's links became regular files and
// blobs/ is not there.
void write_copied_repo(const std::string& repo_dir, const std::string& commit) {
  make_dirs(repo_dir + "/refs");
  write_bytes(repo_dir + "/refs/main", commit);
  make_dirs(repo_dir + "/snapshots/" + commit + "/sub");
  write_bytes(repo_dir + "/snapshots/" + commit + "/model.safetensors", std::string(3000, 'w'));
  write_bytes(repo_dir + "/snapshots/" + commit + "/config.json", "{}");
  write_bytes(repo_dir + "/snapshots/" + commit + "/sub/notes.txt", std::string(5, 'n'));
}

// issue 23, defect 5: `models` showed 0.0 MB / "bytes":0 for such a copy (only blobs/ counted).
TEST_F(Hub, ACacheCopiedWithoutLinksCountsItsSnapshotFiles) {
  write_copied_repo(repo_dir("org/copied"), kC1);
  const auto models = list_cached_models(settings_.cache_dir);
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].files, (std::vector<std::string>{"config.json", "model.safetensors", "sub/notes.txt"}));
  EXPECT_EQ(models[0].bytes, 3007u);
  // A link that leaves the cache is not followed: its target is not the cache's bytes.
  TempDir outside;
  write_bytes(outside.file("big.bin"), std::string(100000, 'x'));
  ASSERT_EQ(
      ::symlink(outside.file("big.bin").c_str(), (repo_dir("org/copied") + "/snapshots/" + kC1 + "/big.bin").c_str()),
      0);
  ASSERT_EQ(::symlink(outside.path().c_str(), (repo_dir("org/copied") + "/snapshots/" + kC1 + "/elsewhere").c_str()),
            0);
  EXPECT_EQ(list_cached_models(settings_.cache_dir)[0].bytes, 3007u);
  const ScopedEnv cache("HF_HUB_CACHE", settings_.cache_dir.c_str());
  const CliRun listed = run_cli_capture({"models", "--format", "json"});
  ASSERT_EQ(listed.code, 0) << listed.err;
  const auto j = json_records(listed.out);
  ASSERT_EQ(j.size(), 1u) << listed.out;
  EXPECT_EQ(j[0]["bytes"], 3007) << listed.out;
}

// A cache as huggingface_hub writes it still counts each blob once, not again through the
// snapshot's links to it.
TEST_F(Hub, ACacheWithLinksCountsEachBlobOnce) {
  server_->add_repo("org/linked", {{"model.safetensors", std::string(2000, 'w')}, {"config.json", "{}"}});
  fetch_hub_model({"org/linked", ""}, settings_);
  const auto models = list_cached_models(settings_.cache_dir);
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].bytes, 2002u);
}

}  // namespace
}  // namespace vit::test
