// The hand-built ViT against torchvision's VisionTransformer: logits to 1e-4 for every
// layout (timm, torchvision, Hugging Face, TorchScript, DeiT wrapper, F16/BF16), on random
// small and full-size ViT-B/16 weights and on the real ViT-Ti weights. Then each way a
// weights file can be wrong.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "test_util.h"
#include "vit/errors.h"
#include "vit/model/engine.h"
#include "vit/model/names.h"
#include "vit/model/runtime.h"

using namespace vit;
namespace t = vit::test;

namespace {

struct ParityCase {
  std::string name;     // test name
  std::string dir;      // fixture subfolder
  std::string model;    // file under dir ("" = the shared real weights)
  std::string ref_key;  // tensor in ref.safetensors
};

std::ostream& operator<<(std::ostream& o, const ParityCase& c) { return o << c.name; }

class LogitParity : public ::testing::TestWithParam<ParityCase> {};

TEST_P(LogitParity, MatchesTorchvision) {
  const ParityCase& c = GetParam();
  const std::string dir = t::fixtures() + "/" + c.dir;
  const std::string model = c.model.empty() ? t::real_weights() : dir + "/" + c.model;
  VIT_REQUIRE_FILE(dir + "/ref.safetensors");
  VIT_REQUIRE_FILE(model);
  SafetensorsFile ref(dir + "/ref.safetensors");
  std::vector<int64_t> shape;
  const auto input = t::read_f32(ref, "input", &shape);
  const auto expected = t::read_f32(ref, c.ref_key);
  EngineOptions o;
  o.model_path = model;  // the head count comes from the fixture's config.json
  Engine engine(o);
  EXPECT_EQ(engine.info().image_size, shape[2]);
  const auto got = engine.logits(input.data(), static_cast<int>(shape[0]));
  const float diff = t::max_abs_diff(got, expected);
  std::cout << "[parity " << c.name << "] max |logit diff| = " << diff << "\n";
  EXPECT_LT(diff, 1e-4f);
}

const std::vector<ParityCase> kCases = {
    {"small_timm", "small", "timm.safetensors", "logits"},
    {"small_torchvision", "small", "tv.pth", "logits"},
    {"small_torchvision_old_names", "small", "tv_old.pth", "logits"},
    {"small_hf", "small", "hf/model.safetensors", "logits"},
    {"small_deit_wrapper", "small", "deit.pth", "logits"},
    {"small_torchscript", "small", "scripted.pt", "logits"},
    {"small_unaligned_header", "small", "unaligned.safetensors", "logits"},
    {"small_f16", "small", "f16.safetensors", "logits_f16"},
    {"small_bf16", "small", "bf16.safetensors", "logits_bf16"},
    {"patch32_timm", "p32", "timm.safetensors", "logits"},
    {"patch32_torchvision", "p32", "tv.pth", "logits"},
    {"patch32_hf", "p32", "hf/model.safetensors", "logits"},
    {"patch32_torchscript", "p32", "scripted.pt", "logits"},
    {"deit_distilled", "distilled", "timm.safetensors", "logits"},
    {"vit_b16_random_timm", "base", "timm.safetensors", "logits"},
    {"vit_b16_random_torchvision", "base", "tv.pth", "logits"},
    {"vit_b16_random_hf", "base", "hf/model.safetensors", "logits"},
    {"vit_b16_random_torchscript", "base", "scripted.pt", "logits"},
    {"real_vit_ti_timm", "real", "", "logits"},
    {"real_vit_ti_torchvision", "real", "tv.pth", "logits"},
    {"real_vit_ti_hf", "real", "hf/model.safetensors", "logits"},
    {"real_vit_ti_torchscript", "real", "scripted.pt", "logits"},
};

INSTANTIATE_TEST_SUITE_P(Layouts, LogitParity, ::testing::ValuesIn(kCases), [](const auto& p) { return p.param.name; });

// Loading `path` must fail with a ModelError whose message contains `needle`.
void expect_model_error(const std::string& path, const std::string& needle, int heads = t::fixture_heads("small")) {
  EngineOptions o;
  o.model_path = path;
  o.heads = heads;
  try {
    Engine e(o);
    ADD_FAILURE() << "loaded " << path;
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

class BadWeights : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = t::fixtures() + "/small/timm.safetensors";
    if (!t::exists(src_)) GTEST_SKIP() << "needs " << src_ << " (make_fixtures.py)";
    entries_ = t::read_entries(src_);
  }
  std::string write(const std::vector<t::StEntry>& e) {
    const std::string p = dir_.file("model.safetensors");
    t::write_safetensors(p, e);
    return p;
  }
  std::string src_;
  std::vector<t::StEntry> entries_;
  t::TempDir dir_;
};

TEST_F(BadWeights, RewrittenFileStillLoads) {  // the writer itself is right
  EngineOptions o;
  o.model_path = write(entries_);
  o.heads = t::fixture_heads("small");
  EXPECT_NO_THROW(Engine e(o));
}

TEST_F(BadWeights, MissingTensor) {
  auto e = entries_;
  e.erase(std::remove_if(e.begin(), e.end(), [](const auto& x) { return x.name == "blocks.1.mlp.fc2.bias"; }), e.end());
  expect_model_error(write(e), "missing tensor 'blocks.1.mlp.fc2.bias'");
}

TEST_F(BadWeights, ExtraTensor) {
  auto e = entries_;
  e.push_back({"blocks.0.attn.extra.weight", "F32", {2}, std::string(8, '\0')});
  expect_model_error(write(e), "unexpected tensor 'blocks.0.attn.extra.weight'");
}

TEST_F(BadWeights, WrongShape) {
  auto e = entries_;
  for (auto& x : e)
    if (x.name == "head.bias") {
      x.shape = {11};
      x.bytes += std::string(4, '\0');
    }
  expect_model_error(write(e), "tensor 'head.bias' has shape [11]");
}

TEST_F(BadWeights, IntegerWeights) {
  auto e = entries_;
  for (auto& x : e)
    if (x.name == "norm.bias") {
      x.dtype = "I32";
    }
  expect_model_error(write(e), "has dtype I32");
}

TEST_F(BadWeights, HeadsUnknownForUnusualWidth) { expect_model_error(write(entries_), "pass --heads N", 0); }

TEST_F(BadWeights, NotAViT) {
  expect_model_error(write({{"conv1.weight", "F32", {1}, std::string(4, '\0')}}), "no ViT patch embedding");
}

// A model whose scores are NaN: each input gets a failed record, never "ok" with invented classes.
TEST_F(BadWeights, NonFiniteScoresMakeFailedRecords) {
  auto e = entries_;
  for (auto& x : e)
    if (x.name == "head.bias") {
      const float nan = std::numeric_limits<float>::quiet_NaN();
      for (size_t i = 0; i < x.bytes.size(); i += 4) std::memcpy(&x.bytes[i], &nan, 4);
    }
  const t::CliRun r = t::run_cli_capture({"-m", write(e), "--heads", std::to_string(t::fixture_heads("small")),
                                          "--format", "json", t::skimage("chelsea.png")});
  EXPECT_EQ(r.code, 1) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j["ok"].get<bool>()) << r.out;
  EXPECT_NE(j["error"].get<std::string>().find("non-finite"), std::string::npos) << r.out;
}

// Zero-byte tensors whose shapes claim a huge model: refused before the module is allocated
// (a [4000000, 0] head used to allocate a 4,000,000-class head, 768 MB, first).
TEST_F(BadWeights, ZeroByteTensorsCannotInflateTheModel) {
  auto e = entries_;
  for (auto& x : e)
    if (x.name == "head.weight") {
      x.shape = {4000000, 0};
      x.bytes.clear();
    }
  rusage before{};
  ::getrusage(RUSAGE_SELF, &before);
  expect_model_error(write(e), "'head.weight' has shape [4000000, 0]");
  rusage after{};
  ::getrusage(RUSAGE_SELF, &after);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 200 * 1024)
      << "peak RSS grew by " << (after.ru_maxrss - before.ru_maxrss) / 1024 << " MB";
  e = entries_;
  for (auto& x : e)
    if (x.name == "patch_embed.proj.weight") {
      x.shape = {48, 0, 8, 8};
      x.bytes.clear();
    }
  expect_model_error(write(e), "0 input channels");
}

// A timm feature vit-classify does not build is refused by name, never run without it.
TEST_F(BadWeights, UnsupportedTimmFeatureIsNamed) {
  auto e = entries_;
  e.push_back({"blocks.0.attn.gate.weight", "F32", {48, 48}, std::string(48 * 48 * 4, '\0')});
  expect_model_error(write(e), "gated attention");
  e = entries_;
  e.push_back({"fc_norm.weight", "F32", {48}, std::string(48 * 4, '\0')});  // half of a LayerNorm
  expect_model_error(write(e), "missing tensor 'fc_norm.bias'");
}

// NaFlexViT (timm naflexvit.py) is refused as itself, not as "not a ViT": its embedding
// is named with the tensor that shows it.
TEST_F(BadWeights, NaFlexEmbeddingIsNamed) {
  auto e = entries_;
  for (auto& x : e) {
    if (x.name == "patch_embed.proj.weight") x.name = "embeds.proj.weight";
    if (x.name == "patch_embed.proj.bias") x.name = "embeds.proj.bias";
    if (x.name == "pos_embed") x.name = "embeds.pos_embed";
  }
  expect_model_error(write(e), "NaFlexViT is not supported");
}

TEST(ModelFiles, NotAModelFile) {
  t::TempDir dir;
  t::write_bytes(dir.file("photo.pth"), "\x89PNG\r\n\x1a\nnot really");
  expect_model_error(dir.file("photo.pth"), "is not a model file");
  t::write_bytes(dir.file("empty.safetensors"), "");
  expect_model_error(dir.file("empty.safetensors"), "empty (0 bytes)");
  expect_model_error(dir.file("missing.safetensors"), "No such file");
  expect_model_error(dir.path(), "is a directory");
  t::write_bytes(dir.file("legacy.pth"), std::string("\x80\x02\x8a\x0a", 4));
  expect_model_error(dir.file("legacy.pth"), "legacy (pre-1.6");
  t::write_bytes(dir.file("broken.zip"), "PK\x03\x04garbage");
  expect_model_error(dir.file("broken.zip"), "zip");
}

// A torchvision checkpoint saved as {"model": sd, "epoch": 3} is torchvision (its tensor names
// say so), not DeiT: it gets torchvision's preprocessing and torchvision's logits.
TEST(ModelFiles, TrainingLoopCheckpointKeepsItsFamily) {
  const std::string dir = t::fixtures() + "/small";
  VIT_REQUIRE_FILE(dir + "/tv_wrapped.pth");
  EngineOptions o;
  o.model_path = dir + "/tv_wrapped.pth";
  Engine e(o);
  EXPECT_EQ(e.info().family, "torchvision");
  EXPECT_EQ(e.info().preprocess.preset, "torchvision") << e.info().preprocess_reason;
  SafetensorsFile ref(dir + "/ref.safetensors");
  std::vector<int64_t> shape;
  const auto input = t::read_f32(ref, "input", &shape);
  EXPECT_LT(t::max_abs_diff(e.logits(input.data(), static_cast<int>(shape[0])), t::read_f32(ref, "logits")), 1e-4f);
  o.model_path = dir + "/deit.pth";  // the real DeiT layout: timm names under "model"
  EXPECT_EQ(Engine(o).info().preprocess.preset, "deit");
}

// A CNN's state dict holds integer buffers (num_batches_tracked): the architecture is judged
// first, so the message says it is not a ViT rather than complaining about a dtype.
TEST(ModelFiles, ResNetStateDictIsNotAViT) {
  const std::string path = t::fixtures() + "/small/resnet_like.pth";
  VIT_REQUIRE_FILE(path);
  expect_model_error(path, "no ViT patch embedding");
}

// Hostile model files: a pickle nesting 200,000 lists (the destructor used to recurse and
// overflow the stack: SIGSEGV), and a FIFO named as the model (open() used to block forever).
TEST(ModelFiles, DeeplyNestedPickleIsRefusedWithoutCrashing) {
  const std::string path = t::fixtures() + "/hostile/nested_400k.pth";
  VIT_REQUIRE_FILE(path);
  expect_model_error(path, "not a state dict");  // built, then destroyed without recursion
  expect_model_error(t::fixtures() + "/hostile/deep_nesting.pth", "more than 500000 values");
}

// A zip entry whose bytes were damaged fails its CRC-32 (it used to load), and one that
// inflates ~1000x is refused before it is inflated.
TEST(ModelFiles, CorruptOrBombedZipEntriesAreRefused) {
  const std::string src = t::fixtures() + "/small/tv.pth", bomb = t::fixtures() + "/hostile/zip_bomb.pth";
  VIT_REQUIRE_FILE(src);
  VIT_REQUIRE_FILE(bomb);
  t::TempDir dir;
  std::string bytes = t::read_bytes(src);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5A);  // inside a storage's data
  t::write_bytes(dir.file("damaged.pth"), bytes);
  expect_model_error(dir.file("damaged.pth"), "fails its CRC-32 check");
  expect_model_error(bomb, "a zip bomb?");
}

TEST(ModelFiles, FifoAsModelIsRefusedWithoutBlocking) {
  t::TempDir dir;
  ASSERT_EQ(::mkfifo(dir.file("model.safetensors").c_str(), 0600), 0);
  const int status = std::system(
      ("timeout 60 " + std::string(VIT_BINARY) + " -m '" + dir.file("model.safetensors") + "' x.png 2>/dev/null")
          .c_str());
  EXPECT_EQ(WEXITSTATUS(status), 3) << "124 means it hung";
  expect_model_error(dir.file("model.safetensors"), "not a regular file");
}

TEST(ModelFiles, TruncatedSafetensorsModel) {
  const std::string src = t::fixtures() + "/small/timm.safetensors";
  VIT_REQUIRE_FILE(src);
  t::TempDir dir;
  const std::string bytes = t::read_bytes(src);
  t::write_bytes(dir.file("cut.safetensors"), bytes.substr(0, bytes.size() - 100));
  expect_model_error(dir.file("cut.safetensors"), "truncated download");
}

TEST(ModelFiles, TorchScriptCannotExplain) {
  const std::string path = t::fixtures() + "/small/scripted.pt";
  VIT_REQUIRE_FILE(path);
  EngineOptions o;
  o.model_path = path;
  Engine e(o);
  EXPECT_EQ(e.info().format, "torchscript");
  EXPECT_EQ(e.info().family, "torchvision");
  EXPECT_FALSE(e.info().can_explain);
  std::vector<float> img(3 * 32 * 32, 0.f);
  try {
    e.trace_attention(img.data());
    ADD_FAILURE();
  } catch (const ModelError& err) {
    EXPECT_NE(std::string(err.what()).find("TorchScript"), std::string::npos);
  }
}

// The family table: a row per family, each detected by its own patch embedding (also under a
// wrapper's prefix), and the facts the loader, blueprint and engine take from it.
TEST(FamilyTable, EveryFamilyHasItsRow) {
  std::set<std::string> names;
  for (const Family f : all_families()) {
    const FamilyFacts& row = family_facts(f);
    EXPECT_TRUE(names.insert(row.name).second) << row.name;
    EXPECT_EQ(family_name(f), std::string(row.name));
    EXPECT_EQ(detect_family({"x", std::string("model.") + row.patch_embed}), f) << row.name;
    EXPECT_TRUE(is_pos_embed(f, row.pos_embed)) << row.name;
    EXPECT_FALSE(row.rules.empty()) << row.name;
  }
  EXPECT_EQ(names.size(), 5u);
  EXPECT_EQ(family_facts(Family::Timm).preset, Preset::Timm);
  for (const Family f : all_families())  // CLIP's two families hold a text tower, and only they
    EXPECT_EQ(family_facts(f).two_towers, f == Family::OpenClip || f == Family::HfClip) << family_name(f);
  EXPECT_EQ(family_facts(Family::OpenClip).preset, Preset::Clip);
  EXPECT_EQ(family_facts(Family::OpenClip).pos_resample, PosResample::TimmAntialias);  // open_clip resize_pos_embed
  EXPECT_EQ(family_facts(Family::Torchvision).pos_resample, PosResample::BicubicAlignCorners);
  EXPECT_EQ(family_facts(Family::HuggingFace).pos_resample, PosResample::Bicubic);
  EXPECT_TRUE(family_facts(Family::HuggingFace).dist_token_without_head);
  EXPECT_STREQ(family_facts(Family::Timm).deit_wrapper_key, "model");
  EXPECT_EQ(family_facts(Family::Torchvision).deit_wrapper_key, nullptr);
}

TEST(Device, CudaUnavailableIsAClearError) {
  const std::string path = t::fixtures() + "/small/timm.safetensors";
  VIT_REQUIRE_FILE(path);
  EngineOptions o;
  o.model_path = path;
  o.device.kind = DeviceSpec::Kind::Cuda;
  if (cuda_available()) GTEST_SKIP() << "CUDA is available here";
  try {
    Engine e(o);
    ADD_FAILURE();
  } catch (const DeviceError& err) {
    EXPECT_NE(std::string(err.what()).find("CUDA"), std::string::npos) << err.what();
  }
}

}  // namespace
