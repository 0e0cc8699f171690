// The real ViT-Ti weights on real photos: the whole pipeline (decode, preprocess, model)
// gives the reference's top-1 and probabilities (PIL + torchvision transforms + torchvision
// ViT, tests/reference/make_fixtures.py), for every preset.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "vit/image/decode.h"
#include "vit/image/preprocess.h"
#include "vit/io/labels.h"
#include "vit/model/engine.h"

using namespace vit;
namespace t = vit::test;

class RealPhotos : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!t::exists(t::real_weights()) || !t::exists(t::fixtures() + "/real/photos.json")) return;
    EngineOptions o;
    o.model_path = t::real_weights();
    engine_ = new Engine(o);
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }
  void SetUp() override {
    VIT_REQUIRE_FILE(t::real_weights());
    VIT_REQUIRE_FILE(t::fixtures() + "/real/photos.json");
  }
  static std::vector<float> probs(const std::string& path, const std::string& preset) {
    const auto x = preprocess(decode_image(path), preset_config(preset, 224));
    return engine_->probabilities(x.data(), 1);
  }
  static Engine* engine_;
};
Engine* RealPhotos::engine_ = nullptr;

TEST_F(RealPhotos, MatchReferencePredictionsForEveryPreset) {
  std::ifstream in(t::fixtures() + "/real/photos.json");
  const auto ref = nlohmann::json::parse(in);
  ASSERT_GT(ref.size(), 4u);
  float worst = 0;
  for (auto it = ref.begin(); it != ref.end(); ++it) {
    for (auto p = it.value().begin(); p != it.value().end(); ++p) {
      const auto pr = probs(it.key(), p.key());
      const auto& idx = p.value()["index"];
      const auto& prob = p.value()["probability"];
      const int top1 = static_cast<int>(std::max_element(pr.begin(), pr.end()) - pr.begin());
      EXPECT_EQ(top1, idx[0].get<int>()) << it.key() << " preset " << p.key();
      for (size_t k = 0; k < idx.size(); ++k) {
        const float d = std::fabs(pr[idx[k].get<int>()] - prob[k].get<float>());
        worst = std::max(worst, d);
        EXPECT_LT(d, 0.01f) << it.key() << " preset " << p.key() << " class " << idx[k];
      }
    }
  }
  std::cout << "[real photos] worst top-5 probability difference " << worst << "\n";
}

TEST_F(RealPhotos, SharedReadmePredictions) {
  // ../shared/models/README.md: chelsea 285 (0.813), coffee 967 (0.938), camera 872 (0.972).
  const std::vector<std::tuple<std::string, int, float>> cases{{"chelsea.png", 285, 0.813f},
                                                               {"coffee.png", 967, 0.938f},
                                                               {"camera.png", 872, 0.972f},
                                                               {"motorcycle_left.png", 665, 0.737f},
                                                               {"hubble_deep_field.jpg", 971, 0.916f}};
  for (const auto& [name, cls, p] : cases) {
    const auto pr = probs(t::skimage(name), engine_->info().preprocess.preset);
    EXPECT_EQ(std::max_element(pr.begin(), pr.end()) - pr.begin(), cls) << name;
    EXPECT_NEAR(pr[cls], p, 0.01) << name;
  }
}

TEST_F(RealPhotos, AutoPresetIsTimmForTimmWeights) {
  EXPECT_EQ(engine_->info().family, "timm");
  EXPECT_EQ(engine_->info().preprocess.preset, "timm");
}

TEST_F(RealPhotos, LabelledImageNetPhotos) {
  // ../shared/images/imagenet/README.md: the model's own preprocessing gets 17 of 17.
  const std::string dir = t::shared() + "/images/imagenet";
  VIT_REQUIRE_FILE(dir + "/README.md");
  int correct = 0, total = 0;
  for (const auto& wnid_file :
       {"n01514668_10054", "n01687978_10071", "n01735189_11267", "n01847000_10087", "n01855032_1046", "n02018795_102",
        "n02025239_1005", "n02113978_10037", "n02125311_10473", "n02127052_10040", "n02231487_1002", "n02412080_10216",
        "n02493509_10045", "n03032252_101298", "n03062245_1030", "n03240683_10240", "n03764736_10075"}) {
    const std::string f = std::string(wnid_file);
    const auto pr = probs(dir + "/" + f + ".png", "timm");
    const size_t top1 = static_cast<size_t>(std::max_element(pr.begin(), pr.end()) - pr.begin());
    correct += Labels::imagenet1k().at(top1).wnid == f.substr(0, 9);
    ++total;
  }
  std::cout << "[imagenet photos, timm preset] " << correct << "/" << total << " top-1 correct\n";
  EXPECT_EQ(correct, 17);
}
