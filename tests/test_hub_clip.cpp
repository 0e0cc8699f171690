// CLIP checkpoints as the hub holds them: open_clip's files (open_clip_config.json,
// open_clip_model.safetensors) taken before transformers' in a repository that has both, the
// CLIP tokenizer's vocab.json and merges.txt fetched beside CLIP weights only, the tokenizer
// found in a cache a user (or Python) filled, and model folders in open_clip's layout.
#include <gtest/gtest.h>

#include "hub_test_util.h"
#include "vit/app/model_discovery.h"
#include "vit/io/hub_listing.h"

namespace vit::test {
namespace {

const std::string kVocab = R"({"a</w>": 0, "<|startoftext|>": 1, "<|endoftext|>": 2})";
const std::string kMerges = "#version: 0.2\na b\n";

// HEADs of one file ("/model.safetensors" is no part of "/open_clip_model.safetensors").
int heads_of(const FakeHub& hub, const std::string& repo_id, const std::string& file) {
  return hub.count(repo_id, "HEAD", "/" + file);
}

TEST_F(Hub, AnOpenClipRepositoryDownloadsItsConfigWeightsAndTokenizer) {
  const std::string weights = random_bytes(8192, 31), config = R"({"model_cfg": {"embed_dim": 512}})";
  server_->add_repo("org/open-clip-only", {{"open_clip_config.json", config},
                                           {"open_clip_model.safetensors", weights},
                                           {"vocab.json", kVocab},
                                           {"merges.txt", kMerges}});
  const HubModel m = fetch_hub_model({"org/open-clip-only", ""}, settings_);
  EXPECT_EQ(m.weights, m.snapshot_dir + "/open_clip_model.safetensors");
  EXPECT_EQ(read_link(m.weights), "../../blobs/" + sha256_of(weights));
  EXPECT_EQ(read_bytes(m.weights), weights);
  EXPECT_EQ(read_bytes(m.snapshot_dir + "/open_clip_config.json"), config);
  EXPECT_EQ(read_bytes(m.snapshot_dir + "/vocab.json"), kVocab);
  EXPECT_EQ(read_bytes(m.snapshot_dir + "/merges.txt"), kMerges);
  for (const char* name : {"vocab.json", "merges.txt", "open_clip_config.json"})
    EXPECT_EQ(read_link(m.snapshot_dir + "/" + name).rfind("../../blobs/", 0), 0u) << name;
  EXPECT_TRUE(is_regular_file(repo_dir("org/open-clip-only") + "/.no_exist/" + kC1 + "/config.json"));
  // Cached: one HEAD (the weights': has main moved?), nothing downloaded; offline: the same files.
  const int heads = server_->count("org/open-clip-only", "HEAD"), gets = server_->count("org/open-clip-only", "GET");
  EXPECT_EQ(fetch_hub_model({"org/open-clip-only", ""}, settings_).weights, m.weights);
  EXPECT_EQ(server_->count("org/open-clip-only", "HEAD"), heads + 1);
  EXPECT_EQ(server_->count("org/open-clip-only", "GET"), gets);
  settings_.offline = true;
  EXPECT_EQ(fetch_hub_model({"org/open-clip-only", ""}, settings_).weights, m.weights);
}

TEST_F(Hub, ARepositoryWithOpenClipsAndTransformersWeightsTakesOpenClips) {
  const std::string open_clip = random_bytes(4096, 32), transformers = random_bytes(4096, 33);
  server_->add_repo("org/both-layouts", {{"open_clip_config.json", "{}"},
                                         {"open_clip_model.safetensors", open_clip},
                                         {"open_clip_pytorch_model.bin", random_bytes(4096, 34)},
                                         {"model.safetensors", transformers},
                                         {"config.json", R"({"model_type": "clip"})"},
                                         {"preprocessor_config.json", "{}"},
                                         {"vocab.json", kVocab},
                                         {"merges.txt", kMerges}});
  const HubModel m = fetch_hub_model({"org/both-layouts", ""}, settings_);
  EXPECT_EQ(m.weights, m.snapshot_dir + "/open_clip_model.safetensors");
  EXPECT_EQ(read_bytes(m.weights), open_clip);
  EXPECT_EQ(server_->count("org/both-layouts", "GET", "/cdn/"), 1);  // transformers' weights not downloaded
  EXPECT_FALSE(lexists(m.snapshot_dir + "/model.safetensors"));
  for (const char* name :
       {"config.json", "preprocessor_config.json", "open_clip_config.json", "vocab.json", "merges.txt"})
    EXPECT_TRUE(is_regular_file(m.snapshot_dir + "/" + name)) << name;
  // A snapshot holding both (as Python's snapshot_download leaves it) gives open_clip's offline too.
  const std::string blob = repo_dir("org/both-layouts") + "/blobs/" + sha256_of(transformers);
  write_bytes(blob, transformers);
  ASSERT_EQ(
      ::symlink(("../../blobs/" + sha256_of(transformers)).c_str(), (m.snapshot_dir + "/model.safetensors").c_str()),
      0);
  settings_.offline = true;
  EXPECT_EQ(fetch_hub_model({"org/both-layouts", ""}, settings_).weights, m.weights);
}

// A plain ViT costs one HEAD more than before open_clip's names came first (the 404 of
// open_clip_model.safetensors), and only when first fetched: the cache's .no_exist marker
// spares it afterwards. Nothing is asked about the CLIP files.
TEST_F(Hub, APlainVitCostsOneMoreHeadOnceAndNoneForClipFiles) {
  server_->add_repo("org/plain-vit", {{"model.safetensors", random_bytes(4096, 35)}, {"config.json", "{}"}});
  const HubModel m = fetch_hub_model({"org/plain-vit", ""}, settings_);
  EXPECT_EQ(m.weights, m.snapshot_dir + "/model.safetensors");
  // open_clip_model.safetensors (404), model.safetensors, config.json, preprocessor_config.json (404)
  EXPECT_EQ(server_->count("org/plain-vit", "HEAD"), 4);
  for (const char* name : {"open_clip_config.json", "vocab.json", "merges.txt", "pytorch_model.bin"})
    EXPECT_EQ(heads_of(*server_, "org/plain-vit", name), 0) << name;
  EXPECT_TRUE(is_regular_file(repo_dir("org/plain-vit") + "/.no_exist/" + kC1 + "/open_clip_model.safetensors"));
  EXPECT_EQ(fetch_hub_model({"org/plain-vit", ""}, settings_).weights, m.weights);
  EXPECT_EQ(server_->count("org/plain-vit", "HEAD"), 5);  // model.safetensors' only
  EXPECT_EQ(heads_of(*server_, "org/plain-vit", "open_clip_model.safetensors"), 1);
  // main moves to a commit that has open_clip's weights: the marker of the old commit does not hide them.
  const std::string open_clip = random_bytes(4096, 36);
  server_->add_commit("org/plain-vit", kC2,
                      {{"model.safetensors", random_bytes(4096, 35)}, {"open_clip_model.safetensors", open_clip}});
  server_->set_refs("org/plain-vit", {{"main", kC2}});
  const HubModel moved = fetch_hub_model({"org/plain-vit", ""}, settings_);
  EXPECT_EQ(moved.commit, kC2);
  EXPECT_EQ(moved.weights, moved.snapshot_dir + "/open_clip_model.safetensors");
  EXPECT_EQ(read_bytes(moved.weights), open_clip);
}

TEST_F(Hub, TransformersClipWeightsGetTheTokenizerFilesToo) {
  server_->add_repo("org/hf-clip", {{"model.safetensors", random_bytes(4096, 37)},
                                    {"config.json", R"({"model_type": "clip"})"},
                                    {"vocab.json", kVocab},
                                    {"merges.txt", kMerges}});
  const HubModel m = fetch_hub_model({"org/hf-clip", ""}, settings_);
  EXPECT_EQ(m.weights, m.snapshot_dir + "/model.safetensors");
  EXPECT_EQ(read_bytes(m.snapshot_dir + "/vocab.json"), kVocab);
  EXPECT_EQ(read_bytes(m.snapshot_dir + "/merges.txt"), kMerges);
  EXPECT_TRUE(is_regular_file(repo_dir("org/hf-clip") + "/.no_exist/" + kC1 + "/open_clip_config.json"));
}

// A file beside the weights is at most 16 MiB (vocab.json is about 1 MB): a hub announcing more
// is refused before a byte of it is fetched.
TEST_F(Hub, AFileBesideTheWeightsOver16MiBIsRefused) {
  server_->add_repo("org/huge-vocab", {{"open_clip_model.safetensors", random_bytes(4096, 38)},
                                       {"vocab.json", std::string((16 << 20) + 1, ' ')}});
  const std::string e = error_of({"org/huge-vocab", ""}, settings_);
  EXPECT_NE(e.find("16777217 bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("16 MiB"), std::string::npos) << e;
  EXPECT_EQ(server_->count("org/huge-vocab", "GET", "vocab.json"), 0);
  EXPECT_FALSE(lexists(repo_dir("org/huge-vocab") + "/snapshots/" + kC1 + "/vocab.json"));
}

// CACHE/models--ORG--NAME/snapshots/COMMIT/{vocab.json,merges.txt} as huggingface_hub writes them.
void plant_tokenizer(const std::string& repo, const std::string& commit, bool with_merges) {
  make_dirs(repo + "/blobs");
  make_dirs(repo + "/snapshots/" + commit);
  const std::string vocab_blob = sha256_of(kVocab + commit), merges_blob = sha256_of(kMerges + commit);
  write_bytes(repo + "/blobs/" + vocab_blob, kVocab);
  write_bytes(repo + "/blobs/" + merges_blob, kMerges);
  EXPECT_EQ(::symlink(("../../blobs/" + vocab_blob).c_str(), (repo + "/snapshots/" + commit + "/vocab.json").c_str()),
            0);
  if (!with_merges) return;
  EXPECT_EQ(::symlink(("../../blobs/" + merges_blob).c_str(), (repo + "/snapshots/" + commit + "/merges.txt").c_str()),
            0);
}

TEST_F(Hub, TheClipTokenizerIsFoundInACachedSnapshot) {
  const std::string cache = settings_.cache_dir, repo = repo_dir("openai/clip-vit-base-patch16");
  EXPECT_FALSE(cached_clip_tokenizer(cache));  // no cache at all
  plant_tokenizer(repo, kC1, false);
  EXPECT_FALSE(cached_clip_tokenizer(cache));  // merges.txt missing
  plant_tokenizer(repo, kC2, true);
  auto found = cached_clip_tokenizer(cache);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->first, repo + "/snapshots/" + kC2 + "/vocab.json");
  EXPECT_EQ(found->second, repo + "/snapshots/" + kC2 + "/merges.txt");
  // refs/main's snapshot first.
  const std::string c3(40, 'c');
  plant_tokenizer(repo, c3, true);
  make_dirs(repo + "/refs");
  write_bytes(repo + "/refs/main", c3);
  found = cached_clip_tokenizer(cache);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->second, repo + "/snapshots/" + c3 + "/merges.txt");
  // A ref that is no commit hash is refused, as for a model.
  write_bytes(repo + "/refs/main", "not a hash");
  EXPECT_THROW(cached_clip_tokenizer(cache), ModelError);
}

TEST_F(Hub, AClipTokenizerLinkPlantedOutsideTheCacheIsRefused) {
  const std::string repo = repo_dir("openai/clip-vit-base-patch32");
  TempDir elsewhere;
  write_bytes(elsewhere.file("merges.txt"), kMerges);
  plant_tokenizer(repo, kC1, false);
  ASSERT_EQ(::symlink(elsewhere.file("merges.txt").c_str(), (repo + "/snapshots/" + kC1 + "/merges.txt").c_str()), 0);
  try {
    cached_clip_tokenizer(settings_.cache_dir);
    ADD_FAILURE() << "the planted link was followed";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("outside the repository's blobs/"), std::string::npos) << e.what();
  }
}

// What `-m laion/CLIP-ViT-B-32-laion2B-s34B-b79K` downloads is where the tokenizer is looked for.
TEST_F(Hub, AClipRepositoryFetchedHereHoldsTheTokenizerFoundLater) {
  const std::string id = "laion/CLIP-ViT-B-32-laion2B-s34B-b79K";
  server_->add_repo(
      id, {{"open_clip_model.safetensors", random_bytes(4096, 39)}, {"vocab.json", kVocab}, {"merges.txt", kMerges}});
  const HubModel m = fetch_hub_model({id, ""}, settings_);
  const auto found = cached_clip_tokenizer(settings_.cache_dir);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->first, m.snapshot_dir + "/vocab.json");
  EXPECT_EQ(read_bytes(found->second), kMerges);
}

TEST_F(Hub, TheCacheDirComesFromTheEnvironmentAlone) {
  // A token path that is a folder: HubSettings::from_environment refuses it, the cache dir is still named.
  ScopedEnv e1("HF_HUB_CACHE", nullptr), e2("HUGGINGFACE_HUB_CACHE", nullptr), e3("HF_HOME", "/hf"),
      e4("HF_TOKEN_PATH", "/"), e5("HF_TOKEN", nullptr), e6("HUGGING_FACE_HUB_TOKEN", nullptr);
  EXPECT_EQ(hub_cache_dir_from_environment(), "/hf/hub");
  ScopedEnv old("HUGGINGFACE_HUB_CACHE", "/old");
  EXPECT_EQ(hub_cache_dir_from_environment(), "/old");
  ScopedEnv cache("HF_HUB_CACHE", "/c");
  EXPECT_EQ(hub_cache_dir_from_environment(), "/c");
  EXPECT_THROW(HubSettings::from_environment(), UsageError);
}

TEST(ModelFolder, OpenClipsWeightsAreTakenFirstAsFromTheHub) {
  TempDir d;
  write_bytes(d.file("open_clip_model.safetensors"), "x");
  EXPECT_EQ(model_in_folder(d.path()), d.file("open_clip_model.safetensors"));
  write_bytes(d.file("open_clip_pytorch_model.bin"), "x");  // open_clip's two files: its safetensors
  EXPECT_EQ(model_in_folder(d.path()), d.file("open_clip_model.safetensors"));
  write_bytes(d.file("model.safetensors"), "x");  // and transformers' beside them
  EXPECT_EQ(model_in_folder(d.path()), d.file("open_clip_model.safetensors"));
  TempDir bin_only;
  write_bytes(bin_only.file("open_clip_pytorch_model.bin"), "x");
  write_bytes(bin_only.file("other.pth"), "x");
  EXPECT_EQ(model_in_folder(bin_only.path()), bin_only.file("open_clip_pytorch_model.bin"));
  TempDir empty;
  try {
    model_in_folder(empty.path());
    ADD_FAILURE() << "an empty folder gave a model";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("open_clip_model.safetensors"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("open_clip_config.json"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace vit::test
