// timm's ViT architectures, exact: one small model per feature (tests/reference/
// make_zoo_fixtures.py builds them in timm with random weights), the Hugging Face DeiT and
// Dinov2 layouts, models run at another --image-size, and timm's eval preprocessing for every
// pretrained_cfg among the 71 ImageNet-1k architectures. Skipped where ../shared/reference/timm
// (the oracle) is absent.
#include <dirent.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>

#include "test_util.h"
#include "vit/image/decode.h"
#include "vit/image/preprocess.h"
#include "vit/model/engine.h"
#include "vit/model/hints.h"
#include "zoo/zoo_parity.h"

namespace t = vit::test;
using namespace vit;

namespace {

std::string zoo(const std::string& part) { return t::fixtures() + "/zoo/" + part; }

std::vector<std::string> subdirs(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') out.push_back(e->d_name);
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string first_line(const std::string& path, int skip = 0) {
  std::ifstream in(path);
  std::string line;
  for (int i = 0; i <= skip; ++i) std::getline(in, line);
  return line;
}

#define VIT_REQUIRE_ZOO()                                                                                        \
  do {                                                                                                           \
    if (!t::exists(zoo("models")))                                                                               \
      GTEST_SKIP() << "no " << zoo("models")                                                                     \
                   << ": the zoo fixtures need timm at ../shared/reference (tests/reference/make_zoo_fixtures.py)"; \
  } while (0)

// Every model folder in `part` matches its reference logits within 1e-4; returns how many ran.
size_t expect_folders_match(const std::string& part, bool resized) {
  size_t n = 0;
  for (const auto& name : subdirs(zoo(part))) {
    const std::string dir = zoo(part) + "/" + name;
    const int size = resized ? std::stoi(first_line(dir + "/feature.txt")) : 0;
    const auto r = t::check_model_dir(dir, size);
    const std::string what = first_line(dir + "/feature.txt", resized ? 1 : 0);
    std::cout << "[ measured ] " << part << "/" << name << ": max |diff| " << r.max_diff << " (logits up to "
              << r.max_ref << "); " << what << "\n";
    EXPECT_TRUE(r.loaded && r.error.empty()) << name << ": " << r.error;
    EXPECT_LE(r.max_diff, 1e-4f) << name << " (" << r.description << "): " << what;
    ++n;
  }
  return n;
}

}  // namespace

TEST(Zoo, EveryFeatureMatchesTimm) {
  VIT_REQUIRE_ZOO();
  EXPECT_GE(expect_folders_match("models", false), 15u);
}

TEST(Zoo, HuggingFaceDeitAndDinov2MatchTheirReference) {
  VIT_REQUIRE_ZOO();
  EXPECT_EQ(expect_folders_match("hf", false), 4u);
}

TEST(Zoo, ImageSizeResamplesPositionEmbeddingsAsTheLibraryDoes) {
  VIT_REQUIRE_ZOO();
  EXPECT_EQ(expect_folders_match("resized", true), 4u);
}

// timm's transforms_imagenet_eval for each distinct pretrained_cfg, on real photos: the 8-bit
// picture before normalisation (identical, or within one level on average), and one photo's
// normalised tensor.
TEST(Zoo, PretrainedCfgPreprocessingEqualsTimmsEvalTransform) {
  VIT_REQUIRE_ZOO();
  const auto cfgs = subdirs(zoo("pcfg"));
  EXPECT_GE(cfgs.size(), 23u);
  for (const auto& c : cfgs) {
    const std::string dir = zoo("pcfg") + "/" + c;
    const ModelHints hints = read_model_hints(dir + "/model.safetensors");
    ASSERT_TRUE(hints.preprocess) << dir;
    SafetensorsFile ref(dir + "/ref.safetensors");
    std::ifstream list(dir + "/photos.txt");
    std::string path;
    double worst_mean = 0;
    int worst_max = 0, photos = 0;
    for (int j = 0; std::getline(list, path); ++j, ++photos) {
      const cv::Mat rgb = decode_image(path);
      const cv::Mat ours = resize_and_crop(rgb, *hints.preprocess);
      const TensorView* v = ref.find("u8_" + std::to_string(j));
      ASSERT_TRUE(v && v->shape.size() == 3 && v->shape[1] == ours.rows && v->shape[2] == ours.cols)
          << dir << " photo " << path << ": ours " << ours.cols << "x" << ours.rows;
      const size_t plane = static_cast<size_t>(ours.rows) * ours.cols;
      double sum = 0;
      int mx = 0;
      for (int y = 0; y < ours.rows; ++y)
        for (int x = 0; x < ours.cols; ++x)
          for (int ch = 0; ch < 3; ++ch) {
            const int d = std::abs(int(ours.at<cv::Vec3b>(y, x)[ch]) -
                                   int(v->data[ch * plane + static_cast<size_t>(y) * ours.cols + x]));
            sum += d;
            mx = std::max(mx, d);
          }
      const double mean = sum / (3.0 * plane);
      worst_mean = std::max(worst_mean, mean);
      worst_max = std::max(worst_max, mx);
      EXPECT_LE(mean, 1.0) << dir << " " << path << ": mean |diff| " << mean << " levels";
      if (j == 0) {
        const auto want = t::read_f32(ref, "normalized_0");
        EXPECT_LE(t::max_abs_diff(preprocess(rgb, *hints.preprocess), want), 1e-6f) << dir;
      }
    }
    EXPECT_GE(photos, 10) << dir;
    std::cout << "[ measured ] pcfg " << c << " (" << first_line(dir + "/tag.txt") << "): " << photos
              << " photos, worst mean |diff| " << worst_mean << " levels, max " << worst_max << "\n";
  }
}
