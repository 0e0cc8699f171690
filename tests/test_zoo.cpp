// timm's ViT architectures, exact: one small model per feature (tests/reference/
// make_zoo_fixtures.py builds them in timm with random weights), the Hugging Face DeiT and
// Dinov2 layouts, models run at another --image-size, and timm's eval preprocessing for every
// pretrained_cfg among the 71 ImageNet-1k architectures. Skipped where ../shared/reference/timm
// (the oracle) is absent.
#include <dirent.h>
#include <gtest/gtest.h>

#include <fstream>
#include <initializer_list>
#include <iostream>

#include "test_util.h"
#include "vit/errors.h"
#include "vit/explain/attention.h"
#include "vit/image/decode.h"
#include "vit/image/preprocess.h"
#include "vit/model/engine.h"
#include "vit/model/hints.h"
#include "zoo/zoo_parity.h"

namespace t = vit::test;
using namespace vit;

namespace {

std::string zoo(const std::string& part) { return t::fixtures() + "/zoo/" + part; }

// Copies the named files of fixture folder `src` into `dir` (a test's own variant of it).
void copy_files(const std::string& src, const t::TempDir& dir, std::initializer_list<const char*> names) {
  for (const char* f : names) t::write_bytes(dir.file(f), t::read_bytes(src + "/" + f));
}

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

#define VIT_REQUIRE_ZOO()                                                                                           \
  do {                                                                                                              \
    if (!t::exists(zoo("models")))                                                                                  \
      GTEST_SKIP() << "no " << zoo("models")                                                                        \
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
  EXPECT_GE(expect_folders_match("models", false), 39u);
}

TEST(Zoo, HuggingFaceDeitAndDinov2MatchTheirReference) {
  VIT_REQUIRE_ZOO();
  EXPECT_EQ(expect_folders_match("hf", false), 6u);
}

TEST(Zoo, ImageSizeResamplesPositionEmbeddingsAsTheLibraryDoes) {
  VIT_REQUIRE_ZOO();
  EXPECT_EQ(expect_folders_match("resized", true), 13u);
}

// timm eva.py models: the rotary settings (temperature, grid layout, reference grid) are in no
// tensor, so without timm's config.json (its architecture) the model is refused, never run with
// guessed ones; the tensor that showed it is named.
TEST(Zoo, RotaryModelWithoutItsConfigIsRefused) {
  VIT_REQUIRE_ZOO();
  const std::string photo = t::skimage("chelsea.png");
  VIT_REQUIRE_FILE(photo);
  t::TempDir tmp;
  for (const auto& [name, shown] : {std::pair<std::string, std::string>{"eva02", "blocks.0.attn.q_bias"},
                                    {"rope_axial", "no tensor 'pos_embed'"},
                                    {"rope_mixed", "rope.freqs"}}) {
    const std::string copy = tmp.path() + "/" + name + ".safetensors";
    std::ofstream(copy, std::ios::binary) << t::read_bytes(zoo("models/" + name + "/model.safetensors"));
    const auto r = t::run_cli_capture({"-m", copy, "--image-size", "64", photo});
    EXPECT_EQ(r.code, 3) << name << ": " << r.err;
    EXPECT_NE(r.err.find(shown), std::string::npos) << name << ": " << r.err;
    EXPECT_NE(r.err.find("config.json"), std::string::npos) << name << ": " << r.err;
  }
}

// Dinov2's preprocessor_config.json: shorter side 256, crop 224 centred as transformers'
// center_crop does (offset floored: a 303-pixel-wide image starts at column 39, not 40).
TEST(Zoo, HuggingFaceCropFromPreprocessorConfig) {
  VIT_REQUIRE_ZOO();
  const ModelHints hints = read_model_hints(zoo("hf/dinov2/model.safetensors"));
  ASSERT_TRUE(hints.preprocess);
  EXPECT_EQ(hints.input_size, 224);
  cv::Mat img(256, 303, CV_8UC3);
  for (int x = 0; x < img.cols; ++x) img.col(x).setTo(cv::Scalar(x % 256, x / 256, 0));
  const cv::Mat crop = resize_and_crop(img, *hints.preprocess);
  ASSERT_EQ(crop.size(), cv::Size(224, 224));
  EXPECT_EQ(crop.at<cv::Vec3b>(0, 0)[0], 39);
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

// explain works for every architecture: register tokens are counted as prefix tokens and left
// out of the patch maps; models without a class token explain through what their head reads.
TEST(Zoo, ExplainWorksForEveryArchitecture) {
  VIT_REQUIRE_ZOO();
  const std::string photo = t::skimage("chelsea.png");
  VIT_REQUIRE_FILE(photo);
  t::TempDir tmp;
  for (const std::string part : {"models", "hf"}) {
    for (const auto& name : subdirs(zoo(part))) {
      const std::string out = tmp.path() + "/" + part + "_" + name;
      const auto r = t::run_cli_capture(
          {"explain", "-m", zoo(part) + "/" + name + "/model.safetensors", photo, "-o", out, "--format", "json"});
      ASSERT_EQ(r.code, 0) << name << ": " << r.err;
      const auto j = nlohmann::json::parse(t::read_bytes(out + "/explain.json"));
      const size_t N = j["grid"].get<size_t>() * j["grid"].get<size_t>();
      EXPECT_EQ(j["position_similarity"].size(), N) << name;
      EXPECT_EQ(j["cls_attention"][0].size(), N) << name;
      for (size_t i = 0; i < N; ++i) EXPECT_NEAR(j["position_similarity"][i][i].get<double>(), 1.0, 1e-5) << name;
      double top = 0;
      for (const auto& row : j["rollout"]["grid"])
        for (const auto& v : row) top = std::max(top, v.get<double>());
      EXPECT_FLOAT_EQ(top, 1.0) << name;
      std::cout << "[ measured ] explain " << part << "/" << name << ": " << j["prefix_tokens"] << " prefix tokens ("
                << j["register_tokens"] << " registers), reads " << j["readout"] << "\n";
      if (name == "reg4_gap") {
        EXPECT_EQ(j["prefix_tokens"], 4);
        EXPECT_EQ(j["register_tokens"], 4);
        EXPECT_NE(j["readout"].get<std::string>().find("mean of the patch tokens"), std::string::npos);
        EXPECT_NE(t::read_bytes(out + "/index.html").find("register token"), std::string::npos);
      }
      const std::string readout = j["readout"].get<std::string>();
      if (name == "siglip_map") {
        EXPECT_NE(readout.find("attention pooling"), std::string::npos);
      }
      if (name == "rope_reg_gap") {  // registers are not patches, rope or not
        EXPECT_EQ(j["register_tokens"], 4);
        EXPECT_EQ(j["layers"], 2);
      }
      if (name == "vit_tiny") {
        EXPECT_EQ(readout, "the class token");
      }
      if (name.rfind("xcit", 0) == 0) {  // XCA mixes channels: the class-attention blocks are the maps
        EXPECT_EQ(j["layers"], 2) << name;
        EXPECT_NE(j.value("attention_layers", std::string()).find("class-attention blocks"), std::string::npos);
      }
      if (name == "beit3") {  // a class token, but the head reads the mean of the patches
        EXPECT_NE(readout.find("the class token is not read"), std::string::npos);
      }
      if (name == "cait") {  // 2 talking-heads blocks, then the 2 class-attention layers the head reads through
        EXPECT_EQ(j["layers"], 4);
        EXPECT_EQ(j["heads"], 4);
        EXPECT_EQ(j["prefix_tokens"], 1);
        EXPECT_EQ(readout, "the class token");
      }
      if (name == "dinov2_registers") {
        EXPECT_EQ(j["prefix_tokens"], 5);
        EXPECT_EQ(j["register_tokens"], 4);
      }
    }
  }
}

// What the head reads decides the rollout's first row and the per-head maps (pure functions).
TEST(Zoo, ReadoutWeightsDriveRolloutAndHeadMaps) {
  AttentionTrace tr;
  tr.layers = 1, tr.heads = 1, tr.grid = 2, tr.dim = 1;
  tr.class_tokens = 0, tr.registers = 1, tr.prefix = 1, tr.tokens = 5, tr.pos_prefix = 0;
  tr.pos_embed.assign(4, 1.0f);
  // Each token attends only to itself, except patch 1 (token 1), which looks at patch 2 (token 2).
  tr.attention.assign(25, 0.0f);
  for (int i = 0; i < 5; ++i) tr.attention[static_cast<size_t>(i * 5 + i)] = 1;
  tr.attention[1 * 5 + 1] = 0, tr.attention[1 * 5 + 2] = 1;
  tr.readout_weights = {0, 0.25f, 0.25f, 0.25f, 0.25f};  // mean of the patch tokens
  const auto maps = readout_attention(tr, 0);
  EXPECT_EQ(maps, (std::vector<float>{0, 0.5f, 0.25f, 0.25f}));
  // (A + I) / 2 with rows summing to 1, read by the mean of the patch tokens: [1/8, 3/8, 1/4, 1/4]
  const auto rollout = attention_rollout(tr, HeadFusion::Mean, 0);
  const std::vector<float> want{1.0f / 3, 1.0f, 2.0f / 3, 2.0f / 3};
  EXPECT_LE(t::max_abs_diff(rollout, want), 1e-6f);
  EXPECT_EQ(token_legend(tr), "Token 0 = register, token n = patch n");
  tr.readout = "the mean of the patch tokens";
  EXPECT_EQ(reader_name(tr), "the mean of the patch tokens");
  tr.readout_weights.pop_back();
  EXPECT_THROW(check_trace(tr), Error);
}

// --image-size from the command line: a timm model saved at 64 px runs at 96 with its
// pretrained_cfg preprocessing recomputed for 96; sizes that are no multiple of the patch
// and TorchScript modules are usage errors.
TEST(Zoo, ImageSizeOptionFromTheCommandLine) {
  VIT_REQUIRE_ZOO();
  const std::string photo = t::skimage("chelsea.png");
  VIT_REQUIRE_FILE(photo);
  const std::string model = zoo("models/reg4_gap/model.safetensors");
  auto r = t::run_cli_capture({"-m", model, "--image-size", "96", "--format", "json", "-k", "3", "-v", photo});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("image=96"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pos-embed-resampled-from=64"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("center crop 96"), std::string::npos) << r.err;
  EXPECT_EQ(t::json_records(r.out).size(), 1u) << r.out;
  r = t::run_cli_capture({"-m", model, "--image-size", "100", photo});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("not a multiple of the model's patch size 16 (try 96 or 112)"), std::string::npos) << r.err;
  const std::string scripted = t::fixtures() + "/small/scripted.pt";
  VIT_REQUIRE_FILE(scripted);
  r = t::run_cli_capture({"-m", scripted, "--image-size", "64", photo});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("TorchScript"), std::string::npos) << r.err;
}

// What the engine says the head reads: the class token, the patches' mean (registers and
// class token left out), or the attention pool's weights over the patches.
TEST(Zoo, EngineReadoutWeightsFollowThePooling) {
  VIT_REQUIRE_ZOO();
  const auto readout = [](const std::string& model) {
    EngineOptions o;
    o.model_path = zoo("models/" + model + "/model.safetensors");
    Engine engine(o);
    const int side = engine.info().image_size;
    const std::vector<float> image(static_cast<size_t>(3 * side * side), 0.25f);
    return engine.trace_attention(image.data());
  };
  const AttentionTrace reg = readout("reg4_gap");  // 4 registers, no class token, average pooling
  ASSERT_EQ(reg.readout_weights.size(), static_cast<size_t>(reg.tokens));
  for (int i = 0; i < reg.tokens; ++i)
    EXPECT_FLOAT_EQ(reg.readout_weights[static_cast<size_t>(i)], i < 4 ? 0.0f : 1.0f / (reg.grid * reg.grid)) << i;
  const AttentionTrace beit = readout("beit3");  // a class token, but average pooling
  EXPECT_EQ(beit.readout_weights[0], 0.0f);
  const AttentionTrace tiny = readout("vit_tiny");
  EXPECT_EQ(tiny.readout_weights[0], 1.0f);
  const AttentionTrace map = readout("siglip_map");
  double sum = 0;
  for (float w : map.readout_weights) sum += w;
  EXPECT_NEAR(sum, 1.0, 1e-5) << "the pool's softmax over the patches";
}

// CaiT's class token joins after the talking-heads blocks: their maps (after proj_w, what the
// values are summed with) get a row for it that sees only itself; each class-attention layer is
// the class token's softmax over [class, patches], the patches' rows the identity.
TEST(Zoo, CaitTraceShowsClassAttentionAsWhatTheHeadReads) {
  VIT_REQUIRE_ZOO();
  EngineOptions o;
  o.model_path = zoo("models/cait/model.safetensors");
  Engine engine(o);
  const int side = engine.info().image_size;
  std::vector<float> image(static_cast<size_t>(3 * side * side));
  for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<float>(i % 17) / 8.0f - 1.0f;
  const AttentionTrace t = engine.trace_attention(image.data());
  ASSERT_EQ(t.layers, 4);
  ASSERT_EQ(t.heads, 4);
  ASSERT_EQ(t.prefix, 1);
  ASSERT_EQ(t.pos_prefix, 0) << "position embeddings on the patches only";
  const auto T = static_cast<size_t>(t.tokens);
  ASSERT_EQ(T, 1 + static_cast<size_t>(t.grid * t.grid));
  const auto at = [&](int l, int h, size_t i, size_t j) {
    return t.attention[((static_cast<size_t>(l) * t.heads + static_cast<size_t>(h)) * T + i) * T + j];
  };
  double worst_row = 0;  // the talking heads' rows need not sum to 1
  for (int h = 0; h < t.heads; ++h) {
    for (int l = 0; l < 2; ++l)
      for (size_t i = 0; i < T; ++i) {
        double row = 0;
        for (size_t j = 0; j < T; ++j) {
          if (i == 0 || j == 0) {
            EXPECT_EQ(at(l, h, i, j), i == j ? 1.0f : 0.0f) << l << " " << h << " " << i << " " << j;
          }
          row += at(l, h, i, j);
        }
        if (i > 0) worst_row = std::max(worst_row, std::abs(row - 1));
      }
    for (int l = 2; l < 4; ++l) {
      double row = 0;
      for (size_t j = 0; j < T; ++j) {
        EXPECT_GE(at(l, h, 0, j), 0.0f);
        row += at(l, h, 0, j);
        for (size_t i = 1; i < T; ++i) ASSERT_EQ(at(l, h, i, j), i == j ? 1.0f : 0.0f) << l << " " << i << " " << j;
      }
      EXPECT_NEAR(row, 1.0, 1e-5) << "class attention, layer " << l << " head " << h;
    }
  }
  EXPECT_GT(worst_row, 1e-3) << "the talking-heads maps are taken after proj_w, not the softmax";
}

// A preprocessor_config.json beside a timm config.json decides the preprocessing, as it did
// before timm's pretrained_cfg was followed in full.
TEST(Zoo, PreprocessorConfigWinsOverPretrainedCfg) {
  VIT_REQUIRE_ZOO();
  t::TempDir dir;
  const std::string src = zoo("models/vit_tiny");
  copy_files(src, dir, {"model.safetensors", "config.json"});
  t::write_bytes(dir.file("preprocessor_config.json"),
                 R"({"do_resize": true, "size": {"height": 64, "width": 64}, "resample": 2, "do_normalize": true,
                     "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]})");
  EngineOptions o;
  o.model_path = dir.file("model.safetensors");
  Engine engine(o);
  const PreprocessConfig& p = engine.info().preprocess;
  EXPECT_EQ(p.resize_width, 64);
  EXPECT_EQ(p.crop, 0) << p.describe();
  EXPECT_EQ(p.interpolation, Interpolation::Bilinear) << p.describe();
}

// A ROPE-ViT `_rope_ape` checkpoint is tensor for tensor Facebook's DeiT-III: without timm's
// config.json it loads as DeiT-III (no rotary positions), and stderr says so and what to do;
// with config.json it is read as what it is, without the warning.
TEST(Zoo, RopeApeWithoutConfigSaysWhatItAssumed) {
  VIT_REQUIRE_ZOO();
  const std::string src = zoo("models/rope_ape");
  t::TempDir dir;
  copy_files(src, dir, {"model.safetensors", "io.safetensors"});
  const t::CliRun bare =
      t::run_cli_capture({"-m", dir.file("model.safetensors"), "--heads", "2", t::skimage("chelsea.png")});
  EXPECT_EQ(bare.code, 0) << bare.err;
  EXPECT_NE(bare.err.find("read as Facebook's DeiT-III"), std::string::npos) << bare.err;
  EXPECT_NE(bare.err.find("vit_*_rope_ape_*"), std::string::npos) << bare.err;
  const auto as_deit3 = t::check_model_dir(dir.path(), 0, 2);
  ASSERT_TRUE(as_deit3.loaded) << as_deit3.error;
  EXPECT_GT(as_deit3.max_diff, 1e-4f) << "the fixture's rotary positions do not show in its logits";
  t::write_bytes(dir.file("config.json"), t::read_bytes(src + "/config.json"));
  const t::CliRun configured = t::run_cli_capture({"-m", dir.file("model.safetensors"), t::skimage("chelsea.png")});
  EXPECT_EQ(configured.code, 0) << configured.err;
  EXPECT_EQ(configured.err.find("DeiT-III"), std::string::npos) << configured.err;
  const auto as_rope = t::check_model_dir(dir.path(), 0);
  ASSERT_TRUE(as_rope.loaded) << as_rope.error;
  EXPECT_LE(as_rope.max_diff, 1e-4f);
}

// XCiT's tokens_norm has no tensor of its own: without timm's config.json the model is refused
// by name, never guessed; model_args.tokens_norm is read over the architecture's (nano: false).
TEST(Zoo, XcitTokensNormIsReadFromTheConfigOrRefused) {
  VIT_REQUIRE_ZOO();
  const std::string src = zoo("models/xcit_p8_nano");
  t::TempDir dir;
  copy_files(src, dir, {"model.safetensors", "io.safetensors"});
  EngineOptions o;
  o.model_path = dir.file("model.safetensors");
  try {
    Engine engine(o);
    ADD_FAILURE() << "an XCiT without config.json loaded";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("tokens_norm"), std::string::npos) << e.what();
  }
  auto config = nlohmann::json::parse(t::read_bytes(src + "/config.json"));
  for (const bool tokens_norm : {false, true}) {
    config["model_args"]["tokens_norm"] = tokens_norm;
    t::write_bytes(dir.file("config.json"), config.dump());
    const auto r = t::check_model_dir(dir.path(), 0);
    ASSERT_TRUE(r.loaded) << r.error;
    if (tokens_norm)
      EXPECT_GT(r.max_diff, 1e-4f) << "model_args.tokens_norm=true was not read (it matched timm's tokens_norm=false)";
    else
      EXPECT_LE(r.max_diff, 1e-4f);
  }
}
