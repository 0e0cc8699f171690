// The test binary's main: LibTorch's math threads are pinned before any test runs (ctest runs
// test groups side by side, and each must not take every core), then GoogleTest runs.
// With VIT_STRICT_SKIPS=1 (CI sets it) a skipped test fails the run unless its reason is on the
// allow-list below: a fixture that was not made, a missing package or a hub server that did not
// start must never pass as a green run.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "vit/model/runtime.h"

namespace {

// The only skips that are not a failure in strict mode, each matched by a part of its message.
const char* const kAllowedSkips[] = {
    // Tests of what happens without CUDA: on a machine with a GPU they have nothing to check
    // (the CUDA path is checked there by hand, see README "CUDA").
    "CUDA is available here",
    "CUDA available here",
    // Hub.DownloadBenchmark is a benchmark that scripts/bench_download.sh runs against its own
    // server; it is not a test.
    "scripts/bench_download.sh runs this",
};

class StrictSkips : public ::testing::EmptyTestEventListener {
 public:
  // The test's name is kept here: OnTestPartResult runs with GoogleTest's own lock held, so
  // asking UnitTest for the current test there would deadlock.
  void OnTestStart(const ::testing::TestInfo& test) override {
    current_ = std::string(test.test_suite_name()) + "." + test.name();
  }
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (!r.skipped()) return;
    const std::string message = r.message();
    for (const char* allowed : kAllowedSkips)
      if (message.find(allowed) != std::string::npos) return;
    refused_.push_back(current_ + ": " + message);
  }
  // Prints the refused skips; true if there were any.
  bool report() const {
    for (const auto& s : refused_) std::cerr << "[  STRICT  ] skipped, not on the allow-list: " << s << "\n";
    if (!refused_.empty())
      std::cerr << "[  STRICT  ] " << refused_.size()
                << " test(s) skipped under VIT_STRICT_SKIPS=1 (tests/test_main.cpp lists the allowed reasons)\n";
    return !refused_.empty();
  }

 private:
  std::string current_;
  std::vector<std::string> refused_;
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* threads = std::getenv("VIT_TEST_THREADS");  // set per test group by tests/CMakeLists.txt
  vit::set_math_threads(threads ? std::atoi(threads) : 0);
  const char* strict_env = std::getenv("VIT_STRICT_SKIPS");
  StrictSkips* strict = nullptr;
  if (strict_env && std::string(strict_env) == "1") {
    strict = new StrictSkips;  // owned by GoogleTest's listener list from here on
    ::testing::UnitTest::GetInstance()->listeners().Append(strict);
  }
  const int result = RUN_ALL_TESTS();
  if (strict && strict->report()) return 1;
  return result;
}
