// A hostile hub and a shared cache: names from the server that are paths (ETag, X-Repo-Commit,
// listed file names), redirects to other protocols and to another port, answers that never
// end or trickle, and links planted in the cache by another user. Each test names the hole it
// closes; none may leave a file outside the cache or write through a link.
#include <chrono>

#include "hub_test_util.h"
#include "vit/errors.h"
#include "vit/io/files.h"
#include "vit/io/hub.h"
#include "vit/io/hub_download.h"

namespace vit::test {

namespace {

// The environment `vit-classify -m ORG/NAME` reads, pointed at the fake hub and the test's cache.
struct CliHub {
  ScopedEnv cache, endpoint, online, model;
  explicit CliHub(const HubSettings& s)
      : cache("HF_HUB_CACHE", s.cache_dir.c_str()),
        endpoint("HF_ENDPOINT", s.endpoint.c_str()),
        online("HF_HUB_OFFLINE", nullptr),
        model("VIT_CLASSIFY_MODEL", nullptr) {}
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

// An ETag of "../../../pwned" once created that file outside the cache (plus its .lock).
TEST_F(Hub, AnETagThatIsAPathNamesNoFileForConfigOrWeights) {
  const std::string outside = cache_.path();  // CACHE/hub/models--ORG--NAME/blobs/../../../ is here
  server_->add_repo("org/hostile-etag-config", {{"model.safetensors", random_bytes(4096, 20)}, {"config.json", "{}"}});
  server_->set_hostile("org/hostile-etag-config", {{"etag", "\"../../../pwned_cfg\""}});
  std::string e = error_of({"org/hostile-etag-config", ""}, settings_);
  EXPECT_NE(e.find("ETag"), std::string::npos) << e;
  EXPECT_NE(e.find("../../../pwned_cfg"), std::string::npos) << e;
  EXPECT_FALSE(lexists(outside + "/pwned_cfg"));
  EXPECT_FALSE(lexists(outside + "/pwned_cfg.lock"));

  server_->add_repo("org/hostile-etag-weights", {{"model.safetensors", random_bytes(4096, 21)}});
  server_->set_hostile("org/hostile-etag-weights", {{"linked_etag", "\"../../../pwned_w\""}});
  e = error_of({"org/hostile-etag-weights", ""}, settings_);
  EXPECT_NE(e.find("not a hex digest"), std::string::npos) << e;
  for (const char* name : {"/pwned_w", "/pwned_w.lock", "/pwned_w.incomplete"}) EXPECT_FALSE(lexists(outside + name));
}

// A commit of "../../../pwned" once created a folder, a symlink and files outside the snapshots.
TEST_F(Hub, ACommitThatIsAPathNamesNoFolder) {
  server_->add_repo("org/hostile-commit", {{"model.safetensors", random_bytes(4096, 22)}});
  server_->set_hostile("org/hostile-commit", {{"commit", "../../../pwned_commit"}});
  const std::string e = error_of({"org/hostile-commit", ""}, settings_);
  EXPECT_NE(e.find("X-Repo-Commit"), std::string::npos) << e;
  EXPECT_FALSE(lexists(cache_.path() + "/pwned_commit"));
  EXPECT_FALSE(lexists(repo_dir("org/hostile-commit") + "/refs/main"));
}

// A listed "../../evil.pth" once became the link models--ORG--NAME/evil.pth.
TEST_F(Hub, AListedFileNameWithDotDotIsRefused) {
  server_->add_repo("org/hostile-listing", {{"x.pth", random_bytes(4096, 23)}});
  server_->set_hostile("org/hostile-listing", {{"siblings", {"../../evil.pth"}}, {"stray", "x.pth"}});
  const std::string e = error_of({"org/hostile-listing", ""}, settings_);
  EXPECT_NE(e.find("'../../evil.pth'"), std::string::npos) << e;
  EXPECT_NE(e.find("not a relative path"), std::string::npos) << e;
  EXPECT_FALSE(lexists(repo_dir("org/hostile-listing") + "/evil.pth"));
  EXPECT_EQ(server_->count("org/hostile-listing", "HEAD", "evil"), 0);
}

// A redirect to file:// once copied a local file into the cache; to gopher:// it sent raw bytes
// to a local TCP service (here: the fake hub itself, which logs what it gets).
TEST_F(Hub, RedirectsGoToHttpAndHttpsOnly) {
  TempDir elsewhere;
  const std::string secret = "secret-bytes-of-the-user";
  write_bytes(elsewhere.file("secret"), secret);
  server_->add_repo("org/hostile-file", {{"model.safetensors", random_bytes(4096, 24)}});
  server_->set_hostile("org/hostile-file", {{"location", "file://" + elsewhere.file("secret")},
                                            {"linked_etag", "\"" + sha256_of(secret) + "\""},
                                            {"size", std::to_string(secret.size())}});
  std::string e = error_of({"org/hostile-file", ""}, settings_);
  EXPECT_NE(e.find("only http and https"), std::string::npos) << e;
  EXPECT_EQ(e.find(secret), std::string::npos) << e;
  EXPECT_FALSE(lexists(repo_dir("org/hostile-file") + "/blobs/" + sha256_of(secret)));

  server_->add_repo("org/hostile-gopher", {{"model.safetensors", random_bytes(4096, 25)}});
  const std::string port = settings_.endpoint.substr(settings_.endpoint.rfind(':') + 1);
  server_->set_hostile(
      "org/hostile-gopher",
      {{"location", "gopher://127.0.0.1:" + port + "/_GET%20/org/hostile-gopher/gopher-hit/%20HTTP/1.0%0D%0A%0D%0A"}});
  e = error_of({"org/hostile-gopher", ""}, settings_);
  EXPECT_NE(e.find("only http and https"), std::string::npos) << e;
  EXPECT_EQ(server_->count("org/hostile-gopher", "GET", "gopher-hit"), 0);
}

// The token once went to 127.0.0.1:B after a redirect from the endpoint 127.0.0.1:A.
TEST_F(Hub, TheTokenGoesToTheEndpointsOriginOnly) {
  TempDir other_root;
  const FakeHub other(other_root.path());
  ASSERT_TRUE(other.running());
  const std::string weights = random_bytes(4096, 26);
  server_->add_repo("org/hostile-port", {{"model.safetensors", weights}});
  server_->gate("org/hostile-port", "hf_secret");
  other.add_repo("org/hostile-port", {{"model.safetensors", weights}});
  server_->set_hostile("org/hostile-port",
                       {{"location", other.endpoint() + "/cdn/org/hostile-port/" + kC1 + "/model.safetensors"}});
  settings_.token = "hf_secret";
  EXPECT_EQ(read_bytes(fetch_hub_model({"org/hostile-port", ""}, settings_).weights), weights);
  ASSERT_EQ(other.count("org/hostile-port", "GET", "/cdn/"), 1);
  for (const auto& r : other.requests("org/hostile-port")) EXPECT_EQ(r["auth"], "") << r.dump();
  // Nor when libcurl follows the redirect itself (the file list, fetched with FOLLOWLOCATION).
  server_->add_repo("org/hostile-api-port", {{"x.pth", weights}});
  server_->gate("org/hostile-api-port", "hf_secret");
  other.add_repo("org/hostile-api-port", {{"x.pth", weights}});
  server_->set_hostile("org/hostile-api-port",
                       {{"api_location", other.endpoint() + "/api/models/org/hostile-api-port/revision/main"}});
  EXPECT_EQ(read_bytes(fetch_hub_model({"org/hostile-api-port", ""}, settings_).weights), weights);
  ASSERT_EQ(other.count("org/hostile-api-port", "GET", "/api/models/"), 1);
  for (const auto& r : other.requests("org/hostile-api-port")) EXPECT_EQ(r["auth"], "") << r.dump();
  // The origin is scheme, host and port: never over http for an https endpoint.
  EXPECT_EQ(hub_origin("HTTPS://Hub.Example/a/b"), "https://hub.example:443");
  EXPECT_EQ(hub_origin("http://h/x"), hub_origin("http://h:80/y"));
  EXPECT_NE(hub_origin("http://h/x"), hub_origin("https://h/x"));
  EXPECT_NE(hub_origin("http://127.0.0.1:1/"), hub_origin("http://127.0.0.1:2/"));
  EXPECT_EQ(hub_origin("file:///etc/passwd"), "");
}

// blobs/SHA.incomplete planted as a link once had its target truncated and overwritten (or
// appended to); a link in .locks/ created its target; a hard link is another file's bytes.
TEST_F(Hub, LinksPlantedInASharedCacheAreNotWrittenThrough) {
  TempDir elsewhere;
  const std::string victim = elsewhere.file("victim"), kept = std::string(100 << 10, 'v');
  write_bytes(victim, kept);
  const std::string w1 = random_bytes(64 << 10, 27), w2 = random_bytes(4096, 28), w3 = random_bytes(4096, 29);
  server_->add_repo("org/planted-incomplete", {{"model.safetensors", w1}});
  make_dirs(repo_dir("org/planted-incomplete") + "/blobs");
  ASSERT_EQ(::symlink(victim.c_str(),
                      (repo_dir("org/planted-incomplete") + "/blobs/" + sha256_of(w1) + ".incomplete").c_str()),
            0);
  std::string e = error_of({"org/planted-incomplete", ""}, settings_);
  EXPECT_NE(e.find("symbolic link"), std::string::npos) << e;
  EXPECT_EQ(read_bytes(victim), kept);

  server_->add_repo("org/planted-lock", {{"model.safetensors", w2}});
  const std::string locks = settings_.cache_dir + "/.locks/models--org--planted-lock";
  make_dirs(locks);
  ASSERT_EQ(::symlink(elsewhere.file("created").c_str(), (locks + "/" + sha256_of(w2) + ".lock").c_str()), 0);
  e = error_of({"org/planted-lock", ""}, settings_);
  EXPECT_NE(e.find("symbolic link"), std::string::npos) << e;
  EXPECT_FALSE(lexists(elsewhere.file("created")));

  server_->add_repo("org/planted-hardlink", {{"model.safetensors", w3}});
  make_dirs(repo_dir("org/planted-hardlink") + "/blobs");
  ASSERT_EQ(
      ::link(victim.c_str(), (repo_dir("org/planted-hardlink") + "/blobs/" + sha256_of(w3) + ".incomplete").c_str()),
      0);
  e = error_of({"org/planted-hardlink", ""}, settings_);
  EXPECT_NE(e.find("2 hard links"), std::string::npos) << e;
  EXPECT_EQ(read_bytes(victim), kept);

  // A folder of the cache that is a link: nothing is written below it.
  server_->add_repo("org/planted-folder", {{"model.safetensors", random_bytes(4096, 30)}});
  make_dirs(repo_dir("org/planted-folder"));
  ASSERT_EQ(::symlink(elsewhere.path().c_str(), (repo_dir("org/planted-folder") + "/blobs").c_str()), 0);
  e = error_of({"org/planted-folder", ""}, settings_);
  EXPECT_NE(e.find("symbolic link"), std::string::npos) << e;
  EXPECT_EQ(read_bytes(victim), kept);
}

// A planted snapshots/COMMIT/model.safetensors -> a secret file was read (its first 8 bytes
// printed as the header's length).
TEST_F(Hub, ASnapshotLinkPointingOutsideBlobsIsNotRead) {
  TempDir elsewhere;
  write_bytes(elsewhere.file("secret"), "secret-bytes");
  const std::string dir = repo_dir("org/planted-snapshot");
  make_dirs(dir + "/refs");
  make_dirs(dir + "/snapshots/" + kC1);
  write_bytes(dir + "/refs/main", kC1);
  ASSERT_EQ(::symlink(elsewhere.file("secret").c_str(), (dir + "/snapshots/" + kC1 + "/model.safetensors").c_str()), 0);
  settings_.offline = true;
  std::string e = error_of({"org/planted-snapshot", ""}, settings_);
  EXPECT_NE(e.find("outside the repository's blobs/"), std::string::npos) << e;
  // Online, the hub's answer does not make the planted link the cached file.
  server_->add_repo("org/planted-snapshot", {{"model.safetensors", random_bytes(4096, 31)}});
  settings_.offline = false;
  e = error_of({"org/planted-snapshot", ""}, settings_);
  EXPECT_NE(e.find("outside the repository's blobs/"), std::string::npos) << e;
  // Nor a config.json beside good weights.
  ::unlink((dir + "/snapshots/" + kC1 + "/model.safetensors").c_str());
  ASSERT_EQ(::symlink(elsewhere.file("secret").c_str(), (dir + "/snapshots/" + kC1 + "/config.json").c_str()), 0);
  e = error_of({"org/planted-snapshot", ""}, settings_);
  EXPECT_NE(e.find("config.json"), std::string::npos) << e;
  EXPECT_NE(e.find("outside the repository's blobs/"), std::string::npos) << e;
}

// refs/main -> /dev/zero (or a huge file) was read whole: 4.4 GB.
TEST_F(Hub, ARefThatIsNotASmallFileIsRefused) {
  const std::string dir = repo_dir("org/zero-ref");
  make_dirs(dir + "/refs");
  write_bytes(dir + "/refs/main", std::string(1 << 20, 'a'));
  settings_.offline = true;
  std::string e = error_of({"org/zero-ref", ""}, settings_);
  ASSERT_NE(e.find("over the limit of 256"), std::string::npos) << e;
  ::unlink((dir + "/refs/main").c_str());
  ASSERT_EQ(::symlink("/dev/zero", (dir + "/refs/main").c_str()), 0);
  e = error_of({"org/zero-ref", ""}, settings_);
  EXPECT_NE(e.find("not a regular file"), std::string::npos) << e;
  EXPECT_NE(e.find("refs/main"), std::string::npos) << e;
}

// HF_TOKEN_PATH=/dev/zero (or a huge file) was read whole.
TEST_F(Hub, ATokenFileThatIsNotASmallFileIsRefused) {
  TempDir home;
  write_bytes(home.file("token"), std::string(100 << 10, 't'));
  const ScopedEnv token("HF_TOKEN", nullptr), old_token("HUGGING_FACE_HUB_TOKEN", nullptr),
      path("HF_TOKEN_PATH", home.file("token").c_str());
  ASSERT_THROW(HubSettings::from_environment(), UsageError);
  const ScopedEnv zero("HF_TOKEN_PATH", "/dev/zero");
  try {
    HubSettings::from_environment();
    ADD_FAILURE() << "HF_TOKEN_PATH=/dev/zero was read";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("/dev/zero"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
}

// An endless file list once grew to 4.4 GB (bad_alloc).
TEST_F(Hub, AnEndlessFileListIsCutAtItsLimit) {
  server_->add_repo("org/hostile-endless", {{"README.md", "hi"}});
  server_->set_hostile("org/hostile-endless", {{"listing", "endless"}});
  const auto start = std::chrono::steady_clock::now();
  const std::string e = error_of({"org/hostile-endless", ""}, settings_);
  EXPECT_NE(e.find("more than 16 MiB"), std::string::npos) << e;
  EXPECT_LT(seconds_since(start), 30);
}

// A body that goes on past the announced size was written whole (500 MB in 2 s).
TEST_F(Hub, ABodyLongerThanAnnouncedIsStoppedThere) {
  const std::string weights = random_bytes(64 << 10, 32), sha = sha256_of(weights);
  server_->add_repo("org/hostile-overflow", {{"model.safetensors", weights}});
  server_->set_hostile("org/hostile-overflow", {{"body", "overflow"}});
  const std::string e = error_of({"org/hostile-overflow", ""}, settings_);
  EXPECT_NE(e.find("more than the 65536 bytes the hub announced"), std::string::npos) << e;
  EXPECT_FALSE(lexists(repo_dir("org/hostile-overflow") + "/blobs/" + sha));
  EXPECT_FALSE(lexists(repo_dir("org/hostile-overflow") + "/blobs/" + sha + ".incomplete"));
}

// 2 bytes a second with a length of 10^12 was never abandoned (the stall check wanted 1 B/s).
TEST_F(Hub, ATrickleIsAbandonedAtTheMinimumRate) {
  server_->add_repo("org/hostile-trickle", {{"model.safetensors", random_bytes(4096, 33)}});
  server_->set_hostile("org/hostile-trickle", {{"size", "1000000000000"}, {"body", "trickle"}});
  settings_.stall_seconds = 2;
  const auto start = std::chrono::steady_clock::now();
  const std::string e = error_of({"org/hostile-trickle", ""}, settings_);
  EXPECT_LT(seconds_since(start), 15);
  EXPECT_NE(e.find("stalled: under 1024 bytes/s"), std::string::npos) << e;
}

// A 10 KB ETag exited 5 ("results could not be written": the name was too long for the disk)
// and printed all 10 KB; `-m evil/ok@.` exited 5 "Device or resource busy" (refs/. is a folder).
TEST_F(Hub, HostileNamesExitAsModelOrUsageErrorsWithShortMessages) {
  server_->add_repo("org/hostile-long-etag", {{"model.safetensors", random_bytes(4096, 34)}});
  server_->set_hostile("org/hostile-long-etag", {{"linked_etag", "\"" + std::string(10240, 'a') + "\""}});
  server_->add_repo("evil/ok", {{"model.safetensors", random_bytes(4096, 35)}});
  server_->set_refs("evil/ok", {{"main", kC1}, {".", kC1}});
  // curl turns /resolve/./FILE into /resolve/FILE: answered as the file at main, as a lax hub would.
  server_->set_hostile("evil/ok", {{"stray", "model.safetensors"}});
  const CliHub env(settings_);
  const CliRun etag = run_cli_capture({"-m", "org/hostile-long-etag", skimage("chelsea.png")});
  EXPECT_EQ(etag.code, 3) << etag.err;
  EXPECT_LT(etag.err.size(), 2000u) << etag.err;
  EXPECT_NE(etag.err.find("ETag"), std::string::npos) << etag.err;
  const CliRun dot = run_cli_capture({"-m", "evil/ok@.", skimage("chelsea.png")});
  EXPECT_EQ(dot.code, 2) << dot.err;
  EXPECT_NE(dot.err.find("revision '.'"), std::string::npos) << dot.err;
  const CliRun fetch = run_cli_capture({"models", "--fetch", "evil/ok@."});
  EXPECT_EQ(fetch.code, 2) << fetch.err;
  EXPECT_NE(fetch.err.find("revision '.'"), std::string::npos) << fetch.err;
  EXPECT_TRUE(server_->requests("evil/ok").empty());  // refused before any request
}

}  // namespace vit::test
