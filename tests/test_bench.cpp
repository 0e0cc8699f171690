// bench: the figures it prints are well formed (the timings themselves are a benchmark's, not
// a test's business).
#include <gtest/gtest.h>

#include "test_util.h"

namespace vit::test {
namespace {

TEST(Bench, JsonParsesWithOneResultPerBatchSizeAndNamesTheCpu) {
  VIT_REQUIRE_FILE(fixtures() + "/small/hf/model.safetensors");
  const CliRun r = run_cli_capture({"bench", "-m", fixtures() + "/small/hf", "--batch-size", "1,3", "--iterations", "4",
                                    "--warmup", "1", "--threads", "1", "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["precision"], "fp32");
  EXPECT_EQ(j["threads"], 1);
  EXPECT_NE(j["cpu"].get<std::string>().find("cores"), std::string::npos) << j["cpu"];
  EXPECT_GE(j["load_seconds"].get<double>(), 0.0);
  ASSERT_EQ(j["results"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const auto& b = j["results"][i];
    EXPECT_EQ(b["batch_size"], i == 0 ? 1 : 3);
    EXPECT_EQ(b["iterations"], 4);
    EXPECT_GT(b["p50_ms"].get<double>(), 0.0);
    EXPECT_GE(b["p90_ms"].get<double>(), b["p50_ms"].get<double>());
    // images/s from the mean latency: between the batch over the slowest and the fastest time it can take
    const double n = b["batch_size"].get<double>();
    EXPECT_GT(b["images_per_second"].get<double>(), 0.0);
    EXPECT_LE(b["images_per_second"].get<double>(), 1000.0 * n / b["p50_ms"].get<double>() * 4);
  }
  EXPECT_GT(j["peak_rss_mb"].get<long>(), 0);
  const CliRun text = run_cli_capture({"bench", "-m", fixtures() + "/small/hf", "--batch-size", "2", "--iterations",
                                       "2", "--image", skimage("chelsea.png")});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("batch  iterations   p50 ms   p90 ms   images/s"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("cpu:"), std::string::npos) << text.out;
}

TEST(Bench, BadValuesAreUsageErrors) {
  EXPECT_EQ(run_cli_capture({"bench", "--batch-size", "0"}).code, 2);
  EXPECT_EQ(run_cli_capture({"bench", "--batch-size", "1,x"}).code, 2);
  EXPECT_EQ(run_cli_capture({"bench", "--batch-size", "2000"}).code, 2);
  EXPECT_EQ(run_cli_capture({"bench", "--format", "csv", "-m", "x"}).code, 2);
  EXPECT_EQ(run_cli_capture({"bench", "--image", "/no/such/photo.png"}).code, 2);
}

}  // namespace
}  // namespace vit::test
