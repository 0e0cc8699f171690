// --precision bf16 and int8. Each kernel against an emulation of its own arithmetic in LibTorch
// (float64): a bug in packing, scales, zero points, bias or GELU shows as a difference far above
// rounding, and the same comparison against plain float32 shows the approximation is really
// there. Then whole models: every zoo architecture runs at every precision, the real ViT-Ti
// weights keep the top-1 of the 17 labelled photos, and what --precision refuses (exit 2).
#include <dirent.h>
#include <gtest/gtest.h>

#include "test_util.h"
#include "vit/errors.h"
#include "vit/model/engine.h"
#include "vit/model/layers.h"
#include "vit/model/reduced_precision.h"

namespace vit::test {
namespace {

struct Case {
  int64_t rows, in, out;
  bool bias, gelu;
};

const Case kCases[] = {{1, 64, 40, true, false},
                       {7, 64, 40, false, true},
                       {197, 192, 576, true, false},
                       {394, 768, 96, true, true},
                       {1576, 192, 768, true, true}};

double max_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

// The int8 kernel's arithmetic (reduced_precision.h, int8_rows.h) in float64.
torch::Tensor int8_emulation(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, Int8Bits bits,
                             bool gelu) {
  const double qmax = (1 << (bits.weight - 1)) - 1;
  const float top = static_cast<float>((1 << bits.input) - 1);
  const auto wd = w.to(torch::kFloat64);
  const auto ws = (wd.abs().amax(1) / qmax).clamp_min(1e-12);
  const auto wq = (wd / ws.unsqueeze(1)).round().clamp(-qmax, qmax) * ws.unsqueeze(1);
  const auto xf = x.to(torch::kFloat32);
  const auto lo = xf.amin(1, true).clamp_max(0), hi = xf.amax(1, true).clamp_min(0);
  const auto s = torch::where(hi > lo, (hi - lo) / top, torch::ones_like(hi));  // float32, as the kernel
  const auto zp = (-lo / s).clamp(0, top).round();
  const auto xq = (xf * (1.0f / s) + (zp + 0.5f)).clamp(0, top).floor();
  const auto xd = ((xq - zp) * s).to(torch::kFloat64);
  auto y = torch::matmul(xd, wq.t());
  if (b.defined()) y = y + b.to(torch::kFloat64);
  return gelu ? torch::gelu(y) : y;
}

torch::Tensor bf16_emulation(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, bool gelu) {
  auto y = torch::matmul(x.to(torch::kBFloat16).to(torch::kFloat64), w.to(torch::kBFloat16).to(torch::kFloat64).t());
  if (b.defined()) y = y + b.to(torch::kFloat64);
  return gelu ? torch::gelu(y) : y;
}

torch::Tensor fp32_linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, bool gelu) {
  auto y = torch::linear(x, w, b);
  return gelu ? torch::gelu(y) : y;
}

// Inputs with a spread like a ViT's: most values small, a few channels large, rows offset.
torch::Tensor inputs(int64_t rows, int64_t in) {
  auto x = torch::randn({rows, in}) + torch::randn({rows, 1}) * 0.5;
  x.select(1, 3).mul_(8);
  return x;
}

// The widths this CPU runs exactly, its default first: 8 and 8 only with VNNI (see make_int8_kernel).
std::vector<Int8Bits> exact_bits() {
  std::vector<Int8Bits> all{int8_bits_for_cpu()};
  if (onednn_has_vnni()) all.push_back({8, 7});
  all.push_back({7, 8});
  return all;
}
std::string str(Int8Bits b) {
  return std::to_string(b.weight) + "-bit weights, " + std::to_string(b.input) + "-bit inputs";
}

TEST(Precision, Int8KernelEqualsItsArithmetic) {
  torch::manual_seed(1);
  for (const Int8Bits bits : exact_bits())
    for (const Case& c : kCases) {
      const auto w = torch::randn({c.out, c.in}) * 0.05, b = c.bias ? torch::randn({c.out}) : torch::Tensor();
      const auto x = inputs(c.rows, c.in);
      const auto got = make_int8_kernel(w, b, bits)->forward(x, c.gelu).to(torch::kFloat64);
      ASSERT_EQ(got.sizes(), (std::vector<int64_t>{c.rows, c.out}));
      const auto want = int8_emulation(x, w, b, bits, c.gelu);
      const double scale = max_abs(want), emulated = max_abs(got - want) / scale;
      const double approx = max_abs(got - fp32_linear(x, w, b, c.gelu).to(torch::kFloat64)) / scale;
      std::cout << "[ measured ] int8 " << str(bits) << " " << c.rows << "x" << c.in << "->" << c.out
                << ": |kernel - emulation| " << emulated << ", |kernel - fp32| " << approx << " (of max |y|)\n";
      EXPECT_LT(emulated, 2e-5) << str(bits) << ", " << c.rows << " rows";
      EXPECT_GT(approx, 20 * emulated + 1e-4) << "int8 should differ from fp32 by its rounding";
      EXPECT_LT(approx, bits.weight + bits.input == 16 ? 0.03 : 0.06);
    }
}

TEST(Precision, Int8BatchesOfAnyShapeAndRowCount) {
  torch::manual_seed(2);
  const auto w = torch::randn({24, 16}), b = torch::randn({24});
  const auto x = torch::randn({2, 5, 16});
  const auto y = make_int8_kernel(w, b)->forward(x, false);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{2, 5, 24}));
  EXPECT_LT(max_abs(y.reshape({10, 24}) - make_int8_kernel(w, b)->forward(x.reshape({10, 16}), false)), 1e-6);
  // More row counts than a layer keeps primitives for: each still gives its rows' numbers.
  const Int8Bits bits = exact_bits().front();
  const auto k = make_int8_kernel(w, b, bits);
  const auto many = inputs(12, 16);
  for (int64_t rows = 1; rows <= 12; ++rows) {
    const auto part = many.slice(0, 0, rows);
    EXPECT_LT(max_abs(k->forward(part, false).to(torch::kFloat64) - int8_emulation(part, w, b, bits, false)), 1e-4)
        << rows << " rows";
  }
  // A row holding NaN or infinity comes out NaN, as in float32 (its image gets a failed
  // record); the other rows are as without it.
  for (const float v : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    auto bad = x.clone();
    bad[1][2][3] = v;
    for (const bool gelu : {false, true}) {
      const auto got = make_int8_kernel(w, b)->forward(bad, gelu), clean = make_int8_kernel(w, b)->forward(x, gelu);
      EXPECT_TRUE(torch::isnan(got[1][2]).all().item<bool>()) << v;
      EXPECT_TRUE(torch::isfinite(got[0]).all().item<bool>()) << v;
      EXPECT_LT(max_abs(got[0] - clean[0]), 1e-6) << v;
      EXPECT_LT(max_abs(got[1][4] - clean[1][4]), 1e-6) << v;
    }
  }
}

// The kernel picks the widest numbers the CPU sums exactly, and refuses to be forced wider: on a
// CPU without VNNI, 8-bit weights with 8-bit inputs would saturate vpmaddubsw's int16 pair sums
// (0.4-0.8 of max |y| wrong on a Zen 3), silently. A layer whose inputs and weights both fill
// their ranges, so that every pair sum is as large as it can be (2 x 127 x 127 = 32258 with 7-bit
// inputs), gives the emulation's numbers with each width the CPU accepts; forced to 8 and 8
// without VNNI it gave 32767 for each pair.
TEST(Precision, Int8NumbersAreNeverWiderThanTheCpuSumsExactly) {
  const auto w = torch::randn({24, 16}), b = torch::randn({24});
  const std::string chosen = make_int8_kernel(w, b)->name();
  EXPECT_NE(chosen.find(onednn_has_vnni() ? "8-bit weights, 8-bit inputs" : "8-bit weights, 7-bit inputs"),
            std::string::npos)
      << chosen << " (oneDNN sees " << onednn_isa_name() << ")";
  if (onednn_has_vnni())
    EXPECT_NO_THROW(make_int8_kernel(w, b, {8, 8}));
  else
    EXPECT_THROW(make_int8_kernel(w, b, {8, 8}), ModelError);
  for (const Int8Bits bad : {Int8Bits{6, 8}, Int8Bits{8, 9}, Int8Bits{9, 7}})
    EXPECT_THROW(make_int8_kernel(w, b, bad), ModelError);
  // Inputs 0 or their row's largest value (q 0 or 2^bits - 1); weights +-1 per output channel
  // with the sign the same along each pair of inputs, so every pair of products adds up.
  const auto x = (torch::rand({8, 64}) > 0.3).to(torch::kFloat32) * 3.0;
  const auto full = torch::ones({32, 64}) * (torch::rand({32, 1}) > 0.5).to(torch::kFloat32).mul(2).sub(1);
  for (const Int8Bits bits : exact_bits()) {
    const auto got = make_int8_kernel(full, {}, bits)->forward(x, false).to(torch::kFloat64);
    const auto want = int8_emulation(x, full, {}, bits, false);
    EXPECT_LT(max_abs(got - want) / max_abs(want), 1e-5) << str(bits) << ": " << got.slice(0, 0, 1);
  }
}

TEST(Precision, Bf16KernelEqualsItsArithmetic) {
  torch::manual_seed(3);
  for (const Case& c : kCases) {
    const auto w = torch::randn({c.out, c.in}) * 0.05, b = c.bias ? torch::randn({c.out}) : torch::Tensor();
    const auto x = inputs(c.rows, c.in);
    const auto got = make_bf16_kernel(w, b)->forward(x, c.gelu).to(torch::kFloat64);
    const auto want = bf16_emulation(x, w, b, c.gelu);
    const double scale = max_abs(want), emulated = max_abs(got - want) / scale;
    const double approx = max_abs(got - fp32_linear(x, w, b, c.gelu).to(torch::kFloat64)) / scale;
    std::cout << "[ measured ] bf16 " << c.rows << "x" << c.in << "->" << c.out << ": |kernel - emulation| " << emulated
              << ", |kernel - fp32| " << approx << "\n";
    EXPECT_LT(emulated, 2e-5) << c.rows << " rows";
    EXPECT_GT(approx, 5 * emulated) << "bf16 should differ from fp32 by its rounding";
    EXPECT_LT(approx, 0.02);
  }
}

// fp32's oneDNN kernel (the default on the CPU) is float32 arithmetic: against the same product
// in float64 it is as close as torch::linear (BLAS) is, only the order of the sums differs.
TEST(Precision, Fp32KernelIsFloat32Arithmetic) {
  torch::manual_seed(4);
  for (const Case& c : kCases) {
    const auto w = torch::randn({c.out, c.in}) * 0.05, b = c.bias ? torch::randn({c.out}) : torch::Tensor();
    const auto x = inputs(c.rows, c.in);
    const auto got = make_fp32_kernel(w, b)->forward(x, c.gelu).to(torch::kFloat64);
    auto exact = torch::matmul(x.to(torch::kFloat64), w.to(torch::kFloat64).t());
    if (b.defined()) exact = exact + b.to(torch::kFloat64);
    if (c.gelu) exact = torch::gelu(exact);
    const double scale = max_abs(exact), kernel = max_abs(got - exact) / scale;
    const double blas = max_abs(fp32_linear(x, w, b, c.gelu).to(torch::kFloat64) - exact) / scale;
    std::cout << "[ measured ] fp32 " << c.rows << "x" << c.in << "->" << c.out << ": |kernel - float64| " << kernel
              << ", |torch::linear - float64| " << blas << " (of max |y|)\n";
    EXPECT_LT(kernel, 4 * blas + 1e-6) << c.rows << " rows";
    EXPECT_LT(kernel, 1e-5) << c.rows << " rows";
  }
  // Any leading shape, as torch::linear.
  const auto w = torch::randn({24, 16}), b = torch::randn({24});
  const auto x = torch::randn({2, 5, 16});
  const auto y = make_fp32_kernel(w, b)->forward(x, false);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{2, 5, 24}));
  EXPECT_LT(max_abs(y - torch::linear(x, w, b)), 1e-5);
}

// The MLP takes long inputs in blocks of rows (layers.cpp kMlpRows): every row's numbers are
// those of the whole input at once (LibTorch's product, which runs it whole while autograd is
// on), at every precision (int8 quantizes each row on its own, so blocks change nothing).
TEST(Precision, MlpInBlocksOfRowsEqualsTheWholeInput) {
  torch::manual_seed(5);
  for (const char* precision : {"fp32-libtorch", "fp32", "int8"}) {
    Mlp mlp(64, 256, Activation::Gelu, true, false, 1e-6);
    const auto x = torch::randn({6, 250, 64});  // 1500 rows: three blocks, the last one short
    torch::Tensor whole;
    {
      torch::AutoGradMode grad(true);
      whole = mlp(x).detach();
    }
    const std::string p = precision;
    if (p != "fp32-libtorch")
      for (Linear* l : {&mlp->fc1, &mlp->fc2}) {
        auto k = p == "int8" ? make_int8_kernel((*l)->weight, (*l)->bias) : make_fp32_kernel((*l)->weight, (*l)->bias);
        (*l)->set_kernel(std::move(k));
      }
    torch::Tensor blocks, reference;
    {
      torch::NoGradGuard no_grad;
      blocks = mlp(x);
    }
    {
      torch::AutoGradMode grad(true);
      reference = mlp(x).detach();
    }
    ASSERT_EQ(blocks.sizes(), x.sizes()) << p;
    EXPECT_LT(max_abs(blocks - reference), 1e-6) << p << ": blocks against the same kernel over all rows";
    if (p != "int8") {
      EXPECT_LT(max_abs(blocks - whole), 1e-5) << p << ": against LibTorch's product";
    }
  }
}

// A long batch goes through attention a few images at a time (layers.cpp, kAttentionRows):
// the same numbers as the whole batch at once, at every precision of the linear layers.
TEST(Precision, AttentionInGroupsOfImagesEqualsTheWholeBatch) {
  torch::manual_seed(7);
  ViTConfig cfg;
  cfg.dim = 64;
  cfg.heads = 4;
  for (const char* precision : {"fp32-libtorch", "fp32", "int8"}) {
    Attention attn(cfg, 0);
    const std::string p = precision;
    if (p != "fp32-libtorch")
      for (Linear* l : {&attn->qkv, &attn->proj}) {
        auto k = p == "int8" ? make_int8_kernel((*l)->weight, (*l)->bias) : make_fp32_kernel((*l)->weight, (*l)->bias);
        (*l)->set_kernel(std::move(k));
      }
    const auto x = torch::randn({7, 197, 64});  // 1379 rows: groups of 2, 2, 2 and 1 images
    torch::Tensor groups, whole;
    {
      torch::AutoGradMode grad(true);  // recording a graph: the whole batch at once
      whole = attn(x).detach();
    }
    torch::NoGradGuard no_grad;
    groups = attn(x);
    ASSERT_EQ(groups.sizes(), x.sizes()) << p;
    EXPECT_LT(max_abs(groups - whole), 1e-5) << p << ": groups of images against the whole batch";
    for (const int64_t i : {0, 5, 6})
      EXPECT_LT(max_abs(groups[i] - attn(x.narrow(0, i, 1))[0]), 1e-5) << p << ": image " << i << " alone";
  }
}

// The int8 MLP hands fc1's output to fc2 as quantized rows, a block of rows at a time
// (forward_mlp): the same numbers as the two layers one by one, GELU between them.
TEST(Precision, Int8MlpInOnePassEqualsItsLayersOneByOne) {
  torch::manual_seed(6);
  for (const int64_t rows : {1, 7, 197, 530}) {
    const auto w1 = torch::randn({256, 64}) * 0.1, b1 = torch::randn({256});
    const auto w2 = torch::randn({64, 256}) * 0.1, b2 = torch::randn({64});
    const auto fc1 = make_int8_kernel(w1, b1), fc2 = make_int8_kernel(w2, b2);
    const auto x = inputs(rows, 64).reshape({1, rows, 64});
    const auto fused = fc1->forward_mlp(x, *fc2);
    ASSERT_TRUE(fused.defined());
    ASSERT_EQ(fused.sizes(), x.sizes());
    const auto apart = fc2->forward(fc1->forward(x, true), false);
    EXPECT_LT(max_abs(fused - apart), 1e-6) << rows << " rows";
    const double approx = max_abs(fused - fp32_linear(fp32_linear(x, w1, b1, true), w2, b2, false));
    EXPECT_GT(approx, 1e-4) << "int8 should differ from fp32 by its rounding";
    EXPECT_LT(approx / max_abs(apart), 0.05);
  }
  // Another kernel as the next layer: not fused, the caller runs the layers one by one.
  const auto w = torch::randn({32, 16}), b = torch::randn({32});
  EXPECT_FALSE(
      make_int8_kernel(w, b)->forward_mlp(torch::randn({4, 16}), *make_fp32_kernel(w.t().contiguous(), {})).defined());
  // A row holding infinity comes out NaN through both layers (a failed record for its image);
  // the other rows as without it.
  const auto clean = torch::randn({3, 16});
  auto bad = clean.clone();
  bad[1][2] = std::numeric_limits<float>::infinity();
  const auto k1 = make_int8_kernel(w, b), k2 = make_int8_kernel(w.t().contiguous(), {});
  const auto got = k1->forward_mlp(bad, *k2), want = k1->forward_mlp(clean, *k2);
  ASSERT_TRUE(got.defined());
  EXPECT_TRUE(torch::isnan(got[1]).all().item<bool>());
  EXPECT_LT(max_abs(got[0] - want[0]), 1e-6);
  EXPECT_LT(max_abs(got[2] - want[2]), 1e-6);
}

std::vector<std::string> zoo_models() {
  std::vector<std::string> out;
  const std::string dir = fixtures() + "/zoo/models";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') out.push_back(dir + "/" + e->d_name);
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

// int8 and bf16 refuse nothing fp32 accepts: every architecture of the zoo (parallel blocks,
// attention pooling, differential attention, SwiGLU, registers, ...) runs and explains.
TEST(Precision, EveryArchitectureRunsAtEveryPrecision) {
  const auto models = zoo_models();
  if (models.empty())
    GTEST_SKIP() << "no zoo fixtures (tests/reference/make_zoo_fixtures.py needs ../shared/reference)";
  for (const auto& dir : models) {
    EngineOptions o;
    o.model_path = dir + "/model.safetensors";
    o.device.kind = DeviceSpec::Kind::Cpu;
    Engine fp32(o);
    const int s = fp32.info().image_size;
    torch::manual_seed(4);
    const auto images = torch::randn({2, 3, s, s});
    const auto ref = fp32.logits(images.data_ptr<float>(), 2);
    for (const Precision p : {Precision::Bf16, Precision::Int8}) {
      o.precision = p;
      Engine e(o);
      EXPECT_EQ(e.info().precision, precision_name(p));
      const double c = cosine(ref, e.logits(images.data_ptr<float>(), 2));
      std::cout << "[ measured ] " << dir.substr(dir.rfind('/') + 1) << " " << precision_name(p) << ": cosine " << c
                << "\n";
      EXPECT_GT(c, p == Precision::Bf16 ? 0.999 : 0.99) << dir << " " << precision_name(p);
      EXPECT_EQ(e.trace_attention(images.data_ptr<float>()).layers, fp32.info().depth) << dir;
    }
  }
}

TEST(Precision, RealWeightsKeepTheTop1OfTheLabelledPhotos) {
  VIT_REQUIRE_FILE(real_weights());
  VIT_REQUIRE_FILE(shared() + "/images/imagenet");
  TempDir list;
  std::string csv = "file,label\n";
  int n = 0;
  if (DIR* d = ::opendir((shared() + "/images/imagenet").c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name.size() > 10 && name[0] == 'n') {
        csv += shared() + "/images/imagenet/" + name + "," + name.substr(0, 9) + "\n";
        ++n;
      }
    }
    ::closedir(d);
  }
  ASSERT_EQ(n, 17);
  write_bytes(list.file("set.csv"), csv);
  for (const std::string p : {"bf16", "int8"}) {
    const CliRun r =
        run_cli_capture({"eval", "-m", real_weights(), "--precision", p, "--format", "json", list.file("set.csv")});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    if (p == "int8" && !onednn_has_vnni()) {
      // 7-bit inputs (no VNNI). fp32 itself calls the cock photo 0.515 cock / 0.484 hen: that
      // near tie, and only it, may flip.
      EXPECT_GE(j["top1"]["correct"], 16) << r.out;
      for (const auto& c : j["confusions"]) EXPECT_EQ(c["true_label"], "cock") << r.out;
      continue;
    }
    EXPECT_EQ(j["top1"]["correct"], 17) << p << ": " << r.out;
  }
}

// A CPU without VNNI or native bf16 (Zen 3), as oneDNN sees it under ONEDNN_MAX_CPU_ISA=AVX2:
// int8 takes 7-bit inputs, bf16 is emulated with a warning, both still give the cat.
std::string run_binary(const std::string& env_and_args) {
  std::string out;
  if (FILE* p = ::popen((env_and_args + " 2>&1").c_str(), "r")) {
    char buf[4096];
    while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

TEST(Precision, ACpuWithoutVnniOrBf16StillRunsBoth) {
  VIT_REQUIRE_FILE(real_weights());
  const std::string cmd = "ONEDNN_MAX_CPU_ISA=AVX2 " + std::string(VIT_BINARY) + " -v -k 1 -m '" + real_weights() +
                          "' '" + skimage("chelsea.png") + "' --precision ";
  const std::string int8 = run_binary(cmd + "int8");
  EXPECT_NE(int8.find("7-bit inputs"), std::string::npos) << int8;
  EXPECT_NE(int8.find("285  Egyptian cat"), std::string::npos) << int8;
  const std::string bf16 = run_binary(cmd + "bf16");
  EXPECT_NE(bf16.find("no native bf16"), std::string::npos) << bf16;
  EXPECT_NE(bf16.find("warning"), std::string::npos) << bf16;
  EXPECT_NE(bf16.find("285  Egyptian cat"), std::string::npos) << bf16;
}

// fp32 on the CPU runs on oneDNN by default; VIT_CLASSIFY_FP32_KERNEL=libtorch keeps LibTorch's
// product; the two agree as two float32 products do; any other value is a usage error.
TEST(Precision, Fp32KernelCanBeLibTorchs) {
  VIT_REQUIRE_FILE(real_weights());
  const std::string cmd =
      std::string(VIT_BINARY) + " -v -k 3 --format json -m '" + real_weights() + "' '" + skimage("chelsea.png") + "'";
  const std::string onednn = run_binary(cmd), libtorch = run_binary("VIT_CLASSIFY_FP32_KERNEL=libtorch " + cmd);
  EXPECT_NE(onednn.find("fp32 oneDNN"), std::string::npos) << onednn;
  EXPECT_EQ(libtorch.find("oneDNN"), std::string::npos) << libtorch;
  const auto record = [](const std::string& out) {
    const auto start = out.find("{\"file\"");
    return nlohmann::json::parse(out.substr(start, out.find('\n', start) - start));
  };
  const auto a = record(onednn), b = record(libtorch);
  ASSERT_EQ(a["predictions"].size(), 3u) << onednn;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(a["predictions"][i]["index"], b["predictions"][i]["index"]);
    EXPECT_NEAR(a["predictions"][i]["probability"].get<double>(), b["predictions"][i]["probability"].get<double>(),
                1e-5);
  }
  const std::string bad = run_binary("(VIT_CLASSIFY_FP32_KERNEL=mkl " + cmd + ") 2>&1; echo \"exit $?\"");
  EXPECT_NE(bad.find("VIT_CLASSIFY_FP32_KERNEL"), std::string::npos) << bad;
  EXPECT_NE(bad.find("exit 2"), std::string::npos) << bad;
}

TEST(Precision, WhatItRefusesIsAUsageError) {
  EXPECT_EQ(run_cli_capture({"--precision", "fp16", "x.png"}).code, 2);
  const std::string scripted = fixtures() + "/small/scripted.pt";
  VIT_REQUIRE_FILE(scripted);
  const CliRun r = run_cli_capture({"-m", scripted, "--precision", "int8", skimage("chelsea.png")});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("TorchScript module"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--precision fp32"), std::string::npos) << r.err;
  EXPECT_EQ(run_cli_capture({"-m", scripted, "--precision", "fp32", skimage("chelsea.png")}).code, 0);
}

TEST(Precision, BenchNamesThePrecisionAndItsKernels) {
  VIT_REQUIRE_FILE(fixtures() + "/small/hf/model.safetensors");
  const CliRun r = run_cli_capture({"bench", "-m", fixtures() + "/small/hf", "--precision", "int8", "--batch-size", "2",
                                    "--iterations", "2", "--warmup", "1", "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["precision"], "int8");
  EXPECT_NE(j["kernels"].get<std::string>().find("int8 oneDNN"), std::string::npos) << j["kernels"];
  EXPECT_GT(j["load_peak_rss_mb"].get<long>(), 0);
  EXPECT_GT(j["run_peak_rss_mb"].get<long>(), 0);
  EXPECT_EQ(j["peak_rss_mb"], std::max(j["load_peak_rss_mb"].get<long>(), j["run_peak_rss_mb"].get<long>()));
}

}  // namespace
}  // namespace vit::test
