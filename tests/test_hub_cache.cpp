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

}  // namespace
}  // namespace vit::test
