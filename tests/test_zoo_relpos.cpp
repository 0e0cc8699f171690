// Relative position bias models (timm beit.py, vision_transformer_relpos.py, Hugging Face
// BeitForImageClassification) against timm, with the bias in explain's attention maps, their
// tables resampled for --image-size, and what is refused. Fixtures: make_zoo_fixtures.py.
#include <gtest/gtest.h>

#include <iostream>

#include "test_util.h"
#include "vit/errors.h"
#include "vit/model/beit_layers.h"
#include "vit/model/blueprint.h"
#include "vit/model/checkpoint.h"
#include "vit/model/weights.h"
#include "zoo/zoo_parity.h"

namespace t = vit::test;
using namespace vit;

namespace {

std::string zoo(const std::string& part) { return t::fixtures() + "/zoo/" + part; }

#define VIT_REQUIRE_RELPOS_ZOO()                                                                            \
  do {                                                                                                      \
    if (!t::exists(zoo("models/beit")))                                                                     \
      GTEST_SKIP() << "no " << zoo("models/beit") << ": the zoo fixtures need timm at ../shared/reference " \
                   << "(tests/reference/make_zoo_fixtures.py)";                                             \
  } while (0)

std::map<std::string, torch::Tensor> canonical(const std::string& model) {
  return canonical_tensors(read_checkpoint(zoo(model) + "/model.safetensors").tensors, Family::Timm);
}

}  // namespace

// Each variant by name (so that none can go missing from the folders EveryFeatureMatchesTimm
// walks), with the words its description must carry.
TEST(Zoo, RelativePositionModelsMatchTimm) {
  VIT_REQUIRE_RELPOS_ZOO();
  const struct {
    const char* dir;
    int size;
    const char* word;
  } cases[] = {
      {"models/beit", 0, "layer-scale q-v-bias no-abs-pos rel-pos-table"},
      {"models/beitv2", 0, "rel-pos-table"},
      {"models/relpos_gap", 0, "rel-pos-mlp=128"},
      {"models/relpos_cls", 0, "rel-pos-mlp=32"},
      {"models/relpos_clsgap", 0, "pool=avg fc_norm"},
      {"models/relpos_rpn", 0, "post-norm-blocks"},
      {"models/srelpos", 0, "rel-pos-mlp-shared=64"},
      {"hf/beit", 0, "eps=1e-12 pool=avg fc_norm no-final-norm layer-scale q-v-bias"},
      {"resized/beit_112", 112, "rel-pos-resampled-from=64"},
      {"resized/beit_48", 48, "rel-pos-resampled-from=64"},
      {"resized/relpos_cls_96", 96, "image=96"},
  };
  for (const auto& c : cases) {
    const auto r = t::check_model_dir(zoo(c.dir), c.size);
    std::cout << "[ measured ] " << c.dir << ": max |diff| " << r.max_diff << " (logits up to " << r.max_ref << "); "
              << r.description << "\n";
    EXPECT_TRUE(r.loaded && r.error.empty()) << c.dir << ": " << r.error;
    EXPECT_LE(r.max_diff, 1e-4f) << c.dir << " (" << r.description << ")";
    EXPECT_NE(r.description.find(c.word), std::string::npos) << c.dir << ": " << r.description;
  }
}

// explain's maps are softmax(q k^T / sqrt(d) + bias): the traced (unfused) path gives the fast
// path's logits, and zeroing the tables changes the maps.
TEST(Zoo, RelativePositionBiasIsInTheAttentionMaps) {
  VIT_REQUIRE_RELPOS_ZOO();
  torch::NoGradGuard no_grad;
  auto model =
      load_vit(zoo("models/beit/model.safetensors"), read_model_hints(zoo("models/beit/model.safetensors"))).model;
  const auto x = torch::randn({1, 3, 64, 64}, torch::TensorOptions().dtype(torch::kFloat32));
  ForwardTrace with_bias;
  const auto traced = model->forward_traced(x, with_bias);
  EXPECT_LE((traced - model->forward(x)).abs().max().item<float>(), 1e-5f);
  ASSERT_EQ(with_bias.attentions.size(), 2u);
  EXPECT_EQ(with_bias.attentions[0].sizes(), (std::vector<int64_t>{1, 2, 17, 17}));
  for (auto& p : model->named_parameters())
    if (p.key().find("relative_position_bias_table") != std::string::npos) p.value().zero_();
  ForwardTrace without;
  model->forward_traced(x, without);
  EXPECT_GT((with_bias.attentions[0] - without.attentions[0]).abs().max().item<float>(), 1e-3f);
  // What explain compares positions by without pos_embed: the patches' bias profiles (N, N).
  EXPECT_EQ(model->position_vectors().sizes(), (std::vector<int64_t>{16, 16}));
}

// Refused, naming the tensor: a table that fits no square grid, a BEiT table without a class
// token; a RelPosMlp model whose input size nothing tells (until --image-size does).
TEST(Zoo, RelativePositionRefusalsNameTheTensor) {
  VIT_REQUIRE_RELPOS_ZOO();
  auto beit = canonical("models/beit");
  const ModelHints hints = read_model_hints(zoo("models/beit/model.safetensors"));
  auto bad = beit;
  bad["blocks.0.attn.relative_position_bias_table"] = torch::zeros({50, 2});
  try {
    infer_config(bad, hints, Family::Timm);
    ADD_FAILURE() << "a 50-row table loaded";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("'blocks.0.attn.relative_position_bias_table' has shape [50, 2]"),
              std::string::npos)
        << e.what();
  }
  auto no_cls = beit;
  no_cls.erase("cls_token");
  no_cls.erase("fc_norm.weight");
  EXPECT_THROW(infer_config(no_cls, hints, Family::Timm), ModelError);
  const auto relpos = canonical("models/relpos_gap");
  try {
    infer_config(relpos, ModelHints{}, Family::Timm);
    ADD_FAILURE() << "a RelPosMlp model without its input size loaded";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("stores no input size"), std::string::npos) << e.what();
  }
  const ViTConfig c = infer_config(relpos, ModelHints{}, Family::Timm, 96);
  EXPECT_EQ(c.grid(), 6);
  EXPECT_EQ(c.heads, 2);  // from rel_pos.mlp.fc2's rows, without a config
  EXPECT_EQ(c.rel_pos, RelPos::Mlp);
}

// timm's resize_rel_pos_bias_table keeps the class-token rows and the table's centre (the
// zero offset) and is the identity at the same grid.
TEST(Zoo, RelativePositionTableResizeKeepsCentreAndClassRows) {
  const auto table = torch::arange(0, 2 * (49 + 3), torch::kFloat32).view({52, 2});  // g = 4
  EXPECT_TRUE(torch::equal(resize_rel_pos_table(table, 4), table));
  const auto big = resize_rel_pos_table(table, 6);  // (11^2 + 3, 2)
  ASSERT_EQ(big.sizes(), (std::vector<int64_t>{124, 2}));
  EXPECT_TRUE(torch::equal(big.slice(0, 121), table.slice(0, 49)));
  EXPECT_FLOAT_EQ(big[60][1].item<float>(), table[24][1].item<float>());  // offset (0, 0)
}
