// Models by Hugging Face repository id: parsing ids, settings from the environment, the cache
// laid out as huggingface_hub lays it out, and downloads from a fake hub (tests/hub/fake_hub.py)
// with the faults a real network has: dropped connections, stalls, wrong checksums, 401/404;
// and a hostile hub (hostile.json: names that are paths, redirects to other protocols and
// ports, endless answers) and a shared cache with links planted in it.
#include <thread>

#include "hub_test_util.h"
#include "vit/app/model_discovery.h"
#include "vit/errors.h"
#include "vit/io/files.h"
#include "vit/io/hub.h"
#include "vit/io/hub_download.h"
#include "vit/io/sha256.h"

namespace vit::test {

TEST_F(Hub, ParsesRepositoryIdsAndRevisions) {
  const auto a = parse_hub_reference("google/vit-base-patch16-224");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->repo_id, "google/vit-base-patch16-224");
  EXPECT_EQ(a->revision, "");
  const auto b = parse_hub_reference("timm/vit_tiny_patch16_224.augreg_in21k@v1.0");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->repo_id, "timm/vit_tiny_patch16_224.augreg_in21k");
  EXPECT_EQ(b->revision, "v1.0");
  EXPECT_EQ(parse_hub_reference("a/b@refs/pr/1")->revision, "refs/pr/1");
  EXPECT_EQ(parse_hub_reference("org/name@" + kC1)->revision, kC1);
  for (const char* bad : {"",           "model.safetensors",
                          "a",          "a/b/c",
                          "/a",         "a/",
                          ".a/b",       "a-/b",
                          "a/b..c",     "a/b--c",
                          "a/b@",       "a/b@../x",
                          "./models/x", "a b/c",
                          "a/b@x//y",   "a/b@/x",
                          "~/a",        "a/b@.",
                          "a/b@x/.",    "a/b@.hidden",
                          "a/b@x.lock", "a/b@x/y.lock/z",
                          "a/b@x."}) {
    EXPECT_FALSE(parse_hub_reference(bad)) << bad;
  }
  EXPECT_EQ(hub_reference_problem("a/b@v1"), "");
  EXPECT_NE(hub_reference_problem("evil/ok@.").find("revision '.'"), std::string::npos);
  EXPECT_NE(hub_reference_problem("a b").find("not a Hugging Face repository id"), std::string::npos);
}

TEST_F(Hub, SettingsComeFromTheEnvironmentAsHuggingFaceHubReadsIt) {
  TempDir home;
  write_bytes(home.file("token"), "hf_from_file\n");
  ScopedEnv e1("HF_HUB_CACHE", nullptr), e2("HUGGINGFACE_HUB_CACHE", nullptr), e3("HF_HOME", nullptr),
      e4("XDG_CACHE_HOME", nullptr), e5("HOME", "/home/u"), e6("HF_ENDPOINT", nullptr), e7("HF_TOKEN", nullptr),
      e8("HUGGING_FACE_HUB_TOKEN", nullptr), e9("HF_TOKEN_PATH", nullptr), e10("HF_HUB_OFFLINE", nullptr);
  HubSettings s = HubSettings::from_environment();
  EXPECT_EQ(s.cache_dir, "/home/u/.cache/huggingface/hub");
  EXPECT_EQ(s.endpoint, "https://huggingface.co");
  EXPECT_FALSE(s.offline);
  ScopedEnv xdg("XDG_CACHE_HOME", "/x");
  EXPECT_EQ(HubSettings::from_environment().cache_dir, "/x/huggingface/hub");
  ScopedEnv hf_home("HF_HOME", home.path().c_str());
  s = HubSettings::from_environment();
  EXPECT_EQ(s.cache_dir, home.path() + "/hub");
  EXPECT_EQ(s.token, "hf_from_file");
  ScopedEnv cache("HF_HUB_CACHE", "/c"), endpoint("HF_ENDPOINT", "http://mirror:8080/"), token("HF_TOKEN", "hf_env");
  s = HubSettings::from_environment();
  EXPECT_EQ(s.cache_dir, "/c");
  EXPECT_EQ(s.endpoint, "http://mirror:8080");
  EXPECT_EQ(s.token, "hf_env");
  for (const char* yes : {"1", "true", "YES", "on"}) {
    ScopedEnv offline("HF_HUB_OFFLINE", yes);
    EXPECT_TRUE(HubSettings::from_environment().offline) << yes;
  }
  for (const char* no : {"0", "", "no", "false"}) {
    ScopedEnv offline("HF_HUB_OFFLINE", no);
    EXPECT_FALSE(HubSettings::from_environment().offline) << no;
  }
}

// $VIT_CLASSIFY_HUB_TIMEOUT is the app's: the library takes the stall limit from HubSettings.
TEST(HubTimeout, FromTheEnvironmentByTheAppOnly) {
  ScopedEnv unset("VIT_CLASSIFY_HUB_TIMEOUT", nullptr);
  EXPECT_EQ(hub_settings_from_environment().stall_seconds, 60);
  ScopedEnv timeout("VIT_CLASSIFY_HUB_TIMEOUT", "7");
  EXPECT_EQ(hub_settings_from_environment().stall_seconds, 7);
  EXPECT_EQ(HubSettings::from_environment().stall_seconds, 60);
  for (const char* bad : {"0", "-3", "soon"}) {
    ScopedEnv other("VIT_CLASSIFY_HUB_TIMEOUT", bad);
    EXPECT_EQ(hub_settings_from_environment().stall_seconds, 60) << bad;
  }
}

TEST_F(Hub, DownloadsIntoAnEmptyCacheWithHuggingFaceHubsLayout) {
  const std::string weights = random_bytes(256 << 10, 1), config = R"({"num_labels": 3})";
  server_->add_repo("org/layout", {{"model.safetensors", weights}, {"config.json", config}});
  const HubModel m = fetch_hub_model({"org/layout", ""}, settings_);
  const std::string dir = repo_dir("org/layout"), sha = sha256_of(weights);
  EXPECT_EQ(m.commit, kC1);
  EXPECT_EQ(m.snapshot_dir, dir + "/snapshots/" + kC1);
  EXPECT_EQ(m.weights, m.snapshot_dir + "/model.safetensors");
  EXPECT_EQ(read_bytes(dir + "/refs/main"), kC1);  // the bare hash, no newline
  EXPECT_EQ(read_link(m.weights), "../../blobs/" + sha);
  EXPECT_EQ(read_bytes(dir + "/blobs/" + sha), weights);
  EXPECT_EQ(read_link(m.snapshot_dir + "/config.json").rfind("../../blobs/", 0), 0u);
  EXPECT_EQ(read_bytes(m.snapshot_dir + "/config.json"), config);
  // The repository has no preprocessor_config.json: huggingface_hub's marker says so.
  EXPECT_TRUE(is_regular_file(dir + "/.no_exist/" + kC1 + "/preprocessor_config.json"));
  EXPECT_TRUE(is_regular_file(settings_.cache_dir + "/.locks/models--org--layout/" + sha + ".lock"));
  EXPECT_FALSE(path_exists(dir + "/blobs/" + sha + ".incomplete"));
}

TEST_F(Hub, ACachedModelCostsOneHeadAndOfflineNone) {
  server_->add_repo("org/cached", {{"model.safetensors", random_bytes(4096, 2)}, {"config.json", "{}"}});
  const HubModel first = fetch_hub_model({"org/cached", ""}, settings_);
  const int gets = server_->count("org/cached", "GET"), heads = server_->count("org/cached", "HEAD");
  const HubModel second = fetch_hub_model({"org/cached", ""}, settings_);
  EXPECT_EQ(second.weights, first.weights);
  EXPECT_EQ(server_->count("org/cached", "GET"), gets);        // nothing downloaded again
  EXPECT_EQ(server_->count("org/cached", "HEAD"), heads + 1);  // the weights' HEAD: has main moved?
  settings_.offline = true;
  const size_t requests = server_->requests("org/cached").size();
  EXPECT_EQ(fetch_hub_model({"org/cached", ""}, settings_).weights, first.weights);
  EXPECT_EQ(server_->requests("org/cached").size(), requests);
}

TEST_F(Hub, OfflineWithNothingCachedSaysWhereItLookedAndHowToDownload) {
  settings_.offline = true;
  const std::string e = error_of({"org/absent", "v2"}, settings_);
  EXPECT_NE(e.find("org/absent"), std::string::npos) << e;
  EXPECT_NE(e.find("v2"), std::string::npos) << e;
  EXPECT_NE(e.find(settings_.cache_dir), std::string::npos) << e;
  EXPECT_NE(e.find("--offline"), std::string::npos) << e;
  EXPECT_NE(e.find("HF_HUB_OFFLINE"), std::string::npos) << e;
}

TEST_F(Hub, FindsACacheWrittenByHandAsHuggingFaceHubWritesIt) {
  const std::string dir = repo_dir("org/by-hand"), etag = std::string(64, 'e');
  make_dirs(dir + "/refs");
  make_dirs(dir + "/blobs");
  make_dirs(dir + "/snapshots/" + kC2);
  write_bytes(dir + "/refs/main", kC2);
  write_bytes(dir + "/blobs/" + etag, "weights");
  ASSERT_EQ(::symlink(("../../blobs/" + etag).c_str(), (dir + "/snapshots/" + kC2 + "/model.safetensors").c_str()), 0);
  settings_.offline = true;
  EXPECT_EQ(fetch_hub_model({"org/by-hand", ""}, settings_).weights, dir + "/snapshots/" + kC2 + "/model.safetensors");
  EXPECT_EQ(fetch_hub_model({"org/by-hand", kC2}, settings_).commit, kC2);
  // A hub that cannot be reached: the cached snapshot, with a warning.
  settings_.offline = false;
  settings_.endpoint = "http://127.0.0.1:1";
  EXPECT_EQ(fetch_hub_model({"org/by-hand", ""}, settings_).commit, kC2);
  // ... and with nothing cached, a message that says so and names the URL.
  const std::string e = error_of({"org/nowhere", ""}, settings_);
  EXPECT_NE(e.find("cannot be reached"), std::string::npos) << e;
  EXPECT_NE(e.find("http://127.0.0.1:1/org/nowhere/resolve/main/open_clip_model.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("--offline"), std::string::npos) << e;
  // A symlink whose blob is gone is not a cached model.
  ::unlink((dir + "/blobs/" + etag).c_str());
  settings_.offline = true;
  EXPECT_THROW(fetch_hub_model({"org/by-hand", ""}, settings_), ModelError);
}

TEST_F(Hub, FollowsABranchThatMoved) {
  server_->add_commit("org/moved", kC1, {{"model.safetensors", random_bytes(4096, 3)}});
  server_->set_refs("org/moved", {{"main", kC1}});
  EXPECT_EQ(fetch_hub_model({"org/moved", ""}, settings_).commit, kC1);
  server_->add_commit("org/moved", kC2, {{"model.safetensors", random_bytes(4096, 4)}});
  server_->set_refs("org/moved", {{"main", kC2}});
  const HubModel m = fetch_hub_model({"org/moved", ""}, settings_);
  EXPECT_EQ(m.commit, kC2);
  EXPECT_EQ(read_bytes(repo_dir("org/moved") + "/refs/main"), kC2);
  EXPECT_EQ(read_bytes(m.weights), random_bytes(4096, 4));
}

TEST_F(Hub, FetchesATagAndACommitHash) {
  server_->add_commit("org/tagged", kC1, {{"model.safetensors", random_bytes(4096, 5)}});
  server_->add_commit("org/tagged", kC2, {{"model.safetensors", random_bytes(4096, 6)}});
  server_->set_refs("org/tagged", {{"main", kC2}, {"v1", kC1}});
  const HubModel v1 = fetch_hub_model(*parse_hub_reference("org/tagged@v1"), settings_);
  EXPECT_EQ(v1.commit, kC1);
  EXPECT_EQ(read_bytes(repo_dir("org/tagged") + "/refs/v1"), kC1);
  EXPECT_EQ(read_bytes(v1.weights), random_bytes(4096, 5));
  const HubModel by_hash = fetch_hub_model({"org/tagged", kC2}, settings_);
  EXPECT_EQ(by_hash.commit, kC2);
  EXPECT_EQ(read_bytes(by_hash.weights), random_bytes(4096, 6));
  EXPECT_FALSE(path_exists(repo_dir("org/tagged") + "/refs/" + kC2));  // a hash names itself
  EXPECT_FALSE(path_exists(repo_dir("org/tagged") + "/refs/main"));
}

TEST_F(Hub, ADroppedConnectionKeepsThePartialFileAndTheNextFetchResumes) {
  const std::string weights = random_bytes(256 << 10, 7), sha = sha256_of(weights);
  server_->add_repo("org/drop-once", {{"model.safetensors", weights}});
  const std::string e = error_of({"org/drop-once", ""}, settings_), blob = repo_dir("org/drop-once") + "/blobs/" + sha;
  EXPECT_NE(e.find("connection dropped"), std::string::npos) << e;
  EXPECT_NE(e.find("/cdn/org/drop-once/"), std::string::npos) << e;
  EXPECT_NE(e.find("resumes"), std::string::npos) << e;
  EXPECT_FALSE(path_exists(blob));
  const std::string partial = read_bytes(blob + ".incomplete");
  EXPECT_EQ(partial.size(), weights.size() / 2);
  const HubModel m = fetch_hub_model({"org/drop-once", ""}, settings_);
  EXPECT_EQ(sha256_file(m.weights), sha);
  EXPECT_FALSE(path_exists(blob + ".incomplete"));
  EXPECT_EQ(last_cdn_get("org/drop-once")["range"], "bytes=" + std::to_string(partial.size()) + "-");
}

TEST_F(Hub, AServerIgnoringRangeIsReadFromTheStart) {
  const std::string weights = random_bytes(64 << 10, 8), sha = sha256_of(weights);
  server_->add_repo("org/no-range", {{"model.safetensors", weights}});
  const std::string blob = repo_dir("org/no-range") + "/blobs/" + sha;
  make_dirs(dir_name(blob));
  write_bytes(blob + ".incomplete", weights.substr(0, 1000));
  const HubModel m = fetch_hub_model({"org/no-range", ""}, settings_);
  EXPECT_EQ(read_bytes(m.weights), weights);
  EXPECT_EQ(last_cdn_get("org/no-range")["range"], "bytes=1000-");
}

TEST_F(Hub, AWrongChecksumLeavesNoBlobAndNoSnapshot) {
  const std::string weights = random_bytes(64 << 10, 9), sha = sha256_of(weights);
  server_->add_repo("org/bad-checksum", {{"model.safetensors", weights}});
  const std::string claimed = sha256_of(weights + "tampered");
  const std::string e = error_of({"org/bad-checksum", ""}, settings_), dir = repo_dir("org/bad-checksum");
  EXPECT_NE(e.find("checksum"), std::string::npos) << e;
  EXPECT_NE(e.find(claimed), std::string::npos) << e;
  EXPECT_NE(e.find(sha), std::string::npos) << e;
  EXPECT_FALSE(path_exists(dir + "/blobs/" + claimed));
  EXPECT_FALSE(path_exists(dir + "/blobs/" + claimed + ".incomplete"));
  EXPECT_FALSE(path_exists(dir + "/snapshots/" + kC1 + "/model.safetensors"));
}

TEST_F(Hub, AFileShorterThanAnnouncedIsNotTakenAsDone) {
  const std::string weights = random_bytes(4096, 16), sha = sha256_of(weights);
  server_->add_repo("org/wrong-size", {{"model.safetensors", weights}});
  const std::string e = error_of({"org/wrong-size", ""}, settings_);
  EXPECT_NE(e.find("after 4096 of 4097 bytes"), std::string::npos) << e;
  EXPECT_FALSE(path_exists(repo_dir("org/wrong-size") + "/blobs/" + sha));
}

TEST_F(Hub, AGatedRepositoryNeedsATokenThatNeverLeavesTheHubsHost) {
  // other-host: the CDN redirect names localhost, another host than the endpoint's 127.0.0.1.
  server_->add_repo("org/gated-other-host", {{"model.safetensors", random_bytes(4096, 10)}});
  server_->gate("org/gated-other-host", "hf_secret");
  const std::string e = error_of({"org/gated-other-host", ""}, settings_);
  EXPECT_NE(e.find("401"), std::string::npos) << e;
  EXPECT_NE(e.find("HF_TOKEN"), std::string::npos) << e;
  EXPECT_NE(e.find(settings_.endpoint + "/org/gated-other-host/resolve/main/open_clip_model.safetensors"),
            std::string::npos)
      << e;
  settings_.token = "hf_secret";
  const HubModel m = fetch_hub_model({"org/gated-other-host", ""}, settings_);
  EXPECT_EQ(read_bytes(m.weights), random_bytes(4096, 10));
  for (const auto& r : server_->requests("org/gated-other-host")) {
    const bool cdn = r["path"].get<std::string>().rfind("/cdn/", 0) == 0;
    if (cdn) {
      EXPECT_EQ(r["auth"], "") << r.dump();
    }
  }
  EXPECT_EQ(server_->count("org/gated-other-host", "GET", "/cdn/"), 1);
}

TEST_F(Hub, AMissingRepositoryOrRevisionIsNamed) {
  std::string e = error_of({"org/no-such-repo", ""}, settings_);
  EXPECT_NE(e.find("404"), std::string::npos) << e;
  EXPECT_NE(e.find("no such repository"), std::string::npos) << e;
  EXPECT_NE(e.find(settings_.endpoint + "/org/no-such-repo/resolve/main/open_clip_model.safetensors"),
            std::string::npos)
      << e;
  server_->add_repo("org/revisions", {{"model.safetensors", "x"}});
  e = error_of({"org/revisions", "v9"}, settings_);
  EXPECT_NE(e.find("no such revision"), std::string::npos) << e;
  EXPECT_NE(e.find("/resolve/v9/"), std::string::npos) << e;
}

TEST_F(Hub, FallsBackToPytorchModelBinThenTheOnePthFile) {
  server_->add_repo("org/bin-only", {{"pytorch_model.bin", random_bytes(4096, 11)}});
  HubModel m = fetch_hub_model({"org/bin-only", ""}, settings_);
  EXPECT_EQ(base_name(m.weights), "pytorch_model.bin");
  EXPECT_EQ(read_bytes(m.weights), random_bytes(4096, 11));
  EXPECT_TRUE(is_regular_file(repo_dir("org/bin-only") + "/.no_exist/" + kC1 + "/model.safetensors"));
  settings_.offline = true;
  EXPECT_EQ(fetch_hub_model({"org/bin-only", ""}, settings_).weights, m.weights);
  settings_.offline = false;
  server_->add_repo("org/pth-only", {{"vit_tiny.pth", random_bytes(4096, 12)}, {"README.md", "hi"}});
  m = fetch_hub_model({"org/pth-only", ""}, settings_);
  EXPECT_EQ(base_name(m.weights), "vit_tiny.pth");
  server_->add_repo("org/no-weights", {{"README.md", "hi"}});
  const std::string e = error_of({"org/no-weights", ""}, settings_);
  for (const char* name :
       {"open_clip_model.safetensors", "model.safetensors", "open_clip_pytorch_model.bin", "pytorch_model.bin"})
    EXPECT_NE(e.find(std::string("/resolve/main/") + name), std::string::npos) << e;
  EXPECT_NE(e.find(".pth"), std::string::npos) << e;
}

TEST_F(Hub, TwoFetchersAtOnceShareOneDownload) {
  // slow: the weights trickle for about a tenth of a second, so that the two overlap.
  const std::string weights = random_bytes(160 << 10, 13), sha = sha256_of(weights);
  server_->add_repo("org/slow", {{"model.safetensors", weights}, {"config.json", "{}"}});
  HubModel a, b;
  std::string error;
  auto fetch = [&](HubModel* out) {
    try {
      *out = fetch_hub_model({"org/slow", ""}, settings_);
    } catch (const std::exception& e) {
      error = e.what();
    }
  };
  std::thread first(fetch, &a), second(fetch, &b);
  first.join();
  second.join();
  EXPECT_EQ(error, "");
  EXPECT_EQ(a.weights, b.weights);
  EXPECT_EQ(sha256_file(a.weights), sha);
  EXPECT_EQ(server_->count("org/slow", "GET", "/cdn/"), 1);  // the second found the blob done
}

TEST_F(Hub, AStalledServerIsAbandonedWithTheTimeSaid) {
  server_->add_repo("org/stall", {{"model.safetensors", random_bytes(64 << 10, 14)}});
  settings_.stall_seconds = 1;  // the app's $VIT_CLASSIFY_HUB_TIMEOUT (HubTimeoutFromTheEnvironment)
  const auto start = std::chrono::steady_clock::now();
  const std::string e = error_of({"org/stall", ""}, settings_);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_NE(e.find("stalled"), std::string::npos) << e;
  EXPECT_NE(e.find("VIT_CLASSIFY_HUB_TIMEOUT"), std::string::npos) << e;
  EXPECT_NE(e.find(".incomplete"), std::string::npos) << e;
}

TEST_F(Hub, DrawsAProgressLineOnlyWhenAsked) {
  server_->add_repo("org/progress", {{"model.safetensors", random_bytes(64 << 10, 15)}});
  settings_.progress = true;
  ::testing::internal::CaptureStderr();
  fetch_hub_model({"org/progress", ""}, settings_);
  const std::string drawn = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(drawn.find("\rmodel.safetensors"), std::string::npos) << drawn;
  EXPECT_NE(drawn.find("100%"), std::string::npos) << drawn;
  EXPECT_NE(drawn.find("MB/s"), std::string::npos) << drawn;
  EXPECT_EQ(drawn.back(), '\n');
  TempDir other;
  settings_.cache_dir = other.path();
  settings_.progress = false;
  ::testing::internal::CaptureStderr();
  fetch_hub_model({"org/progress", ""}, settings_);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST_F(Hub, ListsTheCachedModels) {
  EXPECT_TRUE(list_cached_models(settings_.cache_dir).empty());  // no cache yet
  server_->add_commit("org/listed", kC1, {{"model.safetensors", std::string(1000, 'w')}, {"config.json", "{}"}});
  server_->set_refs("org/listed", {{"main", kC1}, {"v1", kC1}});
  fetch_hub_model({"org/listed", ""}, settings_);
  fetch_hub_model({"org/listed", "v1"}, settings_);
  server_->add_repo("a-org/first", {{"model.safetensors", "x"}});
  fetch_hub_model({"a-org/first", ""}, settings_);
  const auto models = list_cached_models(settings_.cache_dir);
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].repo_id, "a-org/first");
  EXPECT_EQ(models[1].repo_id, "org/listed");
  EXPECT_EQ(models[1].refs, (std::vector<std::string>{"main", "v1"}));
  EXPECT_EQ(models[1].commits, std::vector<std::string>{kC1});
  EXPECT_EQ(models[1].files, (std::vector<std::string>{"config.json", "model.safetensors"}));
  EXPECT_EQ(models[1].bytes, 1002u);
}

// scripts/bench_download.sh's measurement: one download of $VIT_HUB_BENCH_REPO from the hub at
// $VIT_HUB_BENCH_ENDPOINT into a fresh cache, timed here so that process start does not count.
// What a new user types: `-m ORG/NAME` downloads once, then runs with no network at all; the
// unreachable hub with an empty cache is an error that says what to do.
TEST_F(Hub, TheCommandClassifiesByNameOnceDownloadedAndThenOffline) {
  VIT_REQUIRE_FILE(fixtures() + "/small/timm.safetensors");
  server_->add_repo("acme/tiny-vit", {{"model.safetensors", read_bytes(fixtures() + "/small/timm.safetensors")}});
  const ScopedEnv cache("HF_HUB_CACHE", settings_.cache_dir.c_str()),
      endpoint("HF_ENDPOINT", settings_.endpoint.c_str());
  const ScopedEnv online("HF_HUB_OFFLINE", nullptr), model("VIT_CLASSIFY_MODEL", nullptr);
  const std::string photo = skimage("chelsea.png");
  const CliRun direct = run_cli_capture({"-m", fixtures() + "/small/timm.safetensors", "--heads", "3", photo});
  ASSERT_EQ(direct.code, 0) << direct.err;
  const CliRun first = run_cli_capture({"-m", "acme/tiny-vit", "--heads", "3", photo});
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_EQ(first.out, direct.out);
  EXPECT_EQ(server_->count("acme/tiny-vit", "GET", "/cdn/"), 1);
  const ScopedEnv unreachable("HF_ENDPOINT", "http://127.0.0.1:9");  // discard port: nothing listens
  const CliRun offline = run_cli_capture({"-m", "acme/tiny-vit", "--heads", "3", "--offline", photo});
  ASSERT_EQ(offline.code, 0) << offline.err;
  EXPECT_EQ(offline.out, direct.out);
  const CliRun listed = run_cli_capture({"models"});
  EXPECT_EQ(listed.code, 0) << listed.err;
  EXPECT_NE(listed.out.find("acme/tiny-vit"), std::string::npos) << listed.out;
  const CliRun missing = run_cli_capture({"-m", "acme/other-vit", photo});
  EXPECT_EQ(missing.code, 3);
  EXPECT_NE(missing.err.find("127.0.0.1:9"), std::string::npos) << missing.err;
}

TEST_F(Hub, DownloadBenchmark) {
  const char* endpoint = std::getenv("VIT_HUB_BENCH_ENDPOINT");
  const char* repo = std::getenv("VIT_HUB_BENCH_REPO");
  if (!endpoint || !repo) GTEST_SKIP() << "scripts/bench_download.sh runs this";
  settings_.endpoint = endpoint;
  const auto start = std::chrono::steady_clock::now();
  const HubModel m = fetch_hub_model({repo, ""}, settings_);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("vit_download_seconds %.3f bytes %lld\n", seconds, static_cast<long long>(read_bytes(m.weights).size()));
}

}  // namespace vit::test
