// The hub tests' fixture (tests/test_hub.cpp, tests/test_hub_hostile.cpp): tests/hub/fake_hub.py
// started on 127.0.0.1 for the suite, each test with its own repositories and an empty cache.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <map>
#include <random>

#include "test_util.h"
#include "vit/errors.h"
#include "vit/io/files.h"
#include "vit/io/hub.h"
#include "vit/io/sha256.h"

extern char** environ;

namespace vit::test {

inline const std::string kC1(40, 'a');  // commit hashes
inline const std::string kC2(40, 'b');

// tests/hub/fake_hub.py serving a folder, for the object's life.
class FakeHub {
 public:
  explicit FakeHub(const std::string& root) : root_(root) {
    int out[2];
    if (::pipe(out) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    std::string python = "/usr/bin/python3", script = std::string(VIT_SOURCE_DIR) + "/tests/hub/fake_hub.py";
    char* argv[] = {python.data(), script.data(), root_.data(), nullptr};
    if (posix_spawn(&pid_, python.c_str(), &actions, nullptr, argv, environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    std::string line;
    char c;
    while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;  // the port, once it listens
    ::close(out[0]);
    port_ = std::atoi(line.c_str());
  }
  ~FakeHub() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  bool running() const { return port_ > 0; }

  // The requests so far whose path names the repository (its resolve, API and CDN paths).
  std::vector<nlohmann::json> requests(const std::string& repo_id) const {
    std::vector<nlohmann::json> out;
    for (const auto& r : json_records(read_bytes(root_ + "/requests.log")))
      if (r["path"].get<std::string>().find("/" + repo_id + "/") != std::string::npos) out.push_back(r);
    return out;
  }
  int count(const std::string& repo_id, const std::string& method, const std::string& path_part = "") const {
    int n = 0;
    for (const auto& r : requests(repo_id))
      n += r["method"] == method && r["path"].get<std::string>().find(path_part) != std::string::npos;
    return n;
  }

  // ROOT/ORG/NAME/COMMIT/FILE for each file.
  void add_commit(const std::string& repo_id, const std::string& commit,
                  const std::map<std::string, std::string>& files) const {
    make_dirs(root_ + "/" + repo_id + "/" + commit);
    for (const auto& [name, bytes] : files) write_bytes(root_ + "/" + repo_id + "/" + commit + "/" + name, bytes);
  }
  void set_refs(const std::string& repo_id, const nlohmann::json& refs) const {
    make_dirs(root_ + "/" + repo_id);
    write_bytes(root_ + "/" + repo_id + "/refs.json", refs.dump());
  }
  // A repository with main -> kC1 holding these files.
  void add_repo(const std::string& repo_id, const std::map<std::string, std::string>& files) const {
    add_commit(repo_id, kC1, files);
    set_refs(repo_id, {{"main", kC1}});
  }
  void gate(const std::string& repo_id, const std::string& token) const {
    write_bytes(root_ + "/" + repo_id + "/token", token);
  }
  // What the repository's answers say instead (tests/hub/fake_hub.py's hostile mode).
  void set_hostile(const std::string& repo_id, const nlohmann::json& overrides) const {
    write_bytes(root_ + "/" + repo_id + "/hostile.json", overrides.dump());
  }

 private:
  std::string root_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Bytes that differ per seed: weights whose digests cannot collide across tests.
inline std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen() & 0xFF);
  return s;
}

inline std::string sha256_of(const std::string& bytes) {
  TempDir dir;
  write_bytes(dir.file("x"), bytes);
  return sha256_file(dir.file("x"));
}

inline std::string read_link(const std::string& path) {
  char buffer[4096];
  const ssize_t n = ::readlink(path.c_str(), buffer, sizeof buffer);
  return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
}

// The path exists, as itself: a symlink counts even when its target does not exist.
inline bool lexists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// Sets an environment variable for a scope, restoring what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (had_) {
      ::setenv(name_.c_str(), old_.c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_, old_;
  bool had_ = false;
};

inline std::string error_of(const HubReference& ref, const HubSettings& settings) {
  try {
    fetch_hub_model(ref, settings);
  } catch (const ModelError& e) {
    return e.what();
  }
  return "(no error)";
}

// One fake hub for the suite (each test its own repositories and its own empty cache).
class Hub : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir();
    server_ = new FakeHub(root_->path());
  }
  static void TearDownTestSuite() {
    delete server_;
    delete root_;
  }
  void SetUp() override {
    if (!server_->running()) GTEST_SKIP() << "tests/hub/fake_hub.py did not start";
    settings_.cache_dir = cache_.path() + "/hub";
    settings_.endpoint = server_->endpoint();
  }
  std::string repo_dir(const std::string& repo_id) const {
    std::string dir = settings_.cache_dir + "/models--" + repo_id;
    return dir.replace(dir.find('/', settings_.cache_dir.size() + 1), 1, "--");
  }

  static nlohmann::json last_cdn_get(const std::string& repo_id) {
    nlohmann::json last;
    for (const auto& r : server_->requests(repo_id))
      if (r["method"] == "GET" && r["path"].get<std::string>().rfind("/cdn/", 0) == 0) last = r;
    return last;
  }

  inline static TempDir* root_ = nullptr;
  inline static FakeHub* server_ = nullptr;
  TempDir cache_;
  HubSettings settings_;
};

}  // namespace vit::test
