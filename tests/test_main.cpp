// The test binary's main: LibTorch's math threads are pinned before any test runs (ctest runs
// test groups side by side, and each must not take every core), then GoogleTest runs.
#include <gtest/gtest.h>

#include <cstdlib>

#include "vit/model/runtime.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* threads = std::getenv("VIT_TEST_THREADS");  // set per test group by tests/CMakeLists.txt
  vit::set_math_threads(threads ? std::atoi(threads) : 0);
  return RUN_ALL_TESTS();
}
