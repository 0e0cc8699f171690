// What a new user tripped over (issue "What a new user trips over"), one test per item, named
// by its number there: labels, resume, overwriting, checkpoints, values, codec noise,
// summaries, retries, help, subcommands, stdin, --version, GIF, explain's folder.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "test_util.h"
#include "vit/explain/attention.h"
#include "vit/explain/draw.h"
#include "vit/explain/figures.h"

namespace t = vit::test;
using nlohmann::json;

namespace {

using t::lines;

class NewUser : public ::testing::Test {
 protected:
  void SetUp() override {
    VIT_REQUIRE_FILE(small);
    VIT_REQUIRE_FILE(cat);
  }
  t::CliRun run(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    return t::run_cli_capture(args, stdin_text);
  }
  // The real binary, for what only a process shows (raw stderr, exit statuses).
  t::CliRun binary(const std::string& args) {
    const std::string out = dir.file("bin.out"), err = dir.file("bin.err");
    const int status = std::system((std::string(VIT_BINARY) + " " + args + " >" + out + " 2>" + err).c_str());
    return {WEXITSTATUS(status), t::read_bytes(out), t::read_bytes(err)};
  }
  std::string small = t::fixtures() + "/small/timm.safetensors";  // 10 classes, config.json: 3 heads
  std::string cat = t::skimage("chelsea.png");
  std::string coffee = t::skimage("coffee.png");
  t::TempDir dir;
};

}  // namespace

// 1. A label list whose length differs from the model's classes names no class.
TEST_F(NewUser, Item01_LabelsOfAnotherLengthNameNoClass) {
  t::CliRun r = run({"-m", small, "-k", "3", cat});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const auto& l : lines(r.out)) EXPECT_NE(l.find("class "), std::string::npos) << l;
  EXPECT_NE(r.err.find("10 classes but the built-in ImageNet-1k list names 1000"), std::string::npos) << r.err;
  std::string thousand, ten;
  for (int i = 0; i < 1000; ++i) thousand += "name" + std::to_string(i) + "\n";
  for (int i = 0; i < 10; ++i) ten += "mine" + std::to_string(i) + "\n";
  t::write_bytes(dir.file("1000.txt"), thousand);
  t::write_bytes(dir.file("10.txt"), ten);
  r = run({"-m", small, "-k", "1", "--labels", dir.file("1000.txt"), cat});
  EXPECT_EQ(r.out.find("name"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("--labels " + dir.file("1000.txt") + " names 1000"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("pass --labels"), std::string::npos) << "no advice to do what was done: " << r.err;
  r = run({"-m", small, "-k", "1", "--labels", dir.file("10.txt"), cat});
  EXPECT_NE(r.out.find("mine"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
}

// 2. --resume refuses to append records of another shape (columns, model, top-k).
TEST_F(NewUser, Item02_ResumeRefusesRecordsOfAnotherShape) {
  const std::string csv = dir.file("out.csv"), jsonl = dir.file("out.jsonl");
  ASSERT_EQ(run({"-m", small, "-k", "3", "--format", "csv", "-o", csv, cat}).code, 0);
  const std::string before = t::read_bytes(csv);
  t::CliRun r = run({"-m", small, "-k", "2", "--format", "csv", "-o", csv, "--resume", cat, coffee});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("has the columns"), std::string::npos) << r.err;
  EXPECT_EQ(t::read_bytes(csv), before) << "nothing appended";
  ASSERT_EQ(run({"-m", small, "-k", "3", "--format", "json", "-o", jsonl, cat}).code, 0);
  r = run({"-m", small, "-k", "2", "--format", "json", "-o", jsonl, "--resume", cat, coffee});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("3 predictions"), std::string::npos) << r.err;
  // Another model (the p32 fixture under its own name).
  const std::string p32 = dir.file("p32.safetensors");
  t::write_bytes(p32, t::read_bytes(t::fixtures() + "/p32/timm.safetensors"));
  t::write_bytes(dir.file("config.json"), t::read_bytes(t::fixtures() + "/p32/config.json"));
  r = run({"-m", p32, "-k", "3", "--format", "json", "-o", jsonl, "--resume", cat, coffee});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("another model"), std::string::npos) << r.err;
  r = run({"-m", small, "-k", "3", "--format", "json", "-o", jsonl, "--resume", cat, coffee});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines(t::read_bytes(jsonl)).size(), 2u);
}

// 3. -o FILE that holds records is not overwritten without --force (or --resume).
TEST_F(NewUser, Item03_ExistingOutputNeedsForceOrResume) {
  const std::string out = dir.file("labels.jsonl");
  t::write_bytes(out, "{\"file\":\"earlier.jpg\",\"ok\":true}\n");
  t::CliRun r = run({"-m", small, "--format", "json", "-o", out, cat});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_EQ(t::read_bytes(out), "{\"file\":\"earlier.jpg\",\"ok\":true}\n");
  r = run({"-m", small, "--format", "json", "-o", out, "--force", cat});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines(t::read_bytes(out)).size(), 1u);
  EXPECT_NE(t::read_bytes(out).find("chelsea.png"), std::string::npos);
  EXPECT_EQ(run({"-m", small, "--format", "json", "-o", out, "--force", "--resume", cat}).code, 2);
}

// 5. --heads that contradicts config.json is refused (--resize 0, --layer 0: Cli.*OptionValues).
TEST_F(NewUser, Item05_HeadsContradictingTheConfigIsRefused) {
  const t::CliRun r = run({"-m", small, "--heads", "4", cat});
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("contradicts"), std::string::npos) << r.err;
  EXPECT_EQ(run({"-m", small, "--heads", "3", cat}).code, 0);
}

// 6. libpng's warnings go through our logger: not on stderr, shown at -v.
TEST_F(NewUser, Item06_CodecWarningsGoThroughTheLogger) {
  t::CliRun r = binary("-m '" + small + "' '" + cat + "'");  // chelsea.png has an "incorrect" sRGB profile
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("libpng"), std::string::npos) << r.err;
  r = binary("-v -m '" + small + "' '" + cat + "'");
  EXPECT_NE(r.err.find("vit-classify: info: PNG decoder: iCCP"), std::string::npos) << r.err;
  // A JPEG whose scan data is damaged: libjpeg complains, through our logger.
  std::string jpeg = t::read_bytes(t::fixtures() + "/images/photo.jpg");
  const size_t sos = jpeg.find("\xff\xda");
  ASSERT_NE(sos, std::string::npos);
  for (size_t k = sos + 200; k < sos + 260 && k < jpeg.size(); ++k)
    if (jpeg[k] != '\xff' && jpeg[k - 1] != '\xff') jpeg[k] = '\xab';
  t::write_bytes(dir.file("damaged.jpg"), jpeg);
  r = binary("-m '" + small + "' '" + dir.file("damaged.jpg") + "'");
  EXPECT_EQ(r.err.find("Corrupt JPEG"), std::string::npos) << r.err;
  r = binary("-v -m '" + small + "' '" + dir.file("damaged.jpg") + "'");
  EXPECT_NE(r.err.find("vit-classify: info: JPEG decoder: Corrupt JPEG data"), std::string::npos) << r.err;
}

// 8. Summaries are consistent and grammatical, also for one failed input.
TEST_F(NewUser, Item08_SummariesAreGrammatical) {
  ::mkdir(dir.file("folder").c_str(), 0755);
  t::CliRun r = run({"-m", small, dir.file("folder")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("vit-classify: 1 input: 0 classified, 1 failed; "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("images/s"), std::string::npos) << "no rate without a classified image: " << r.err;
  r = run({"-m", small, dir.file("missing.png")});
  EXPECT_NE(r.err.find("1 input: 0 classified, 1 failed"), std::string::npos) << r.err;
  r = run({"-m", small, cat, coffee});
  EXPECT_NE(r.err.find("2 inputs: 2 classified, 0 failed; "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" images/s"), std::string::npos) << r.err;
  r = run({"-m", small, cat});
  EXPECT_EQ(r.err.find("classified"), std::string::npos) << "one good photo to stdout: just its result: " << r.err;
}

// 9. --resume --retry-failed redoes the inputs whose record is an error.
TEST_F(NewUser, Item09_RetryFailedRedoesErrorRecords) {
  const std::string out = dir.file("out.jsonl"), photo = dir.file("late.png");
  t::write_bytes(photo, "not yet a picture");
  ASSERT_EQ(run({"-m", small, "--format", "json", "-o", out, cat, photo}).code, 1);
  t::write_bytes(photo, t::read_bytes(coffee));
  EXPECT_EQ(run({"-m", small, "--format", "json", "-o", out, "--resume", cat, photo}).code, 0);
  EXPECT_EQ(lines(t::read_bytes(out)).size(), 2u) << "--resume alone keeps the error record";
  const t::CliRun r = run({"-m", small, "--format", "json", "-o", out, "--resume", "--retry-failed", cat, photo});
  EXPECT_EQ(r.code, 0) << r.err;
  const auto l = lines(t::read_bytes(out));
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(json::parse(l[2])["file"], photo);
  EXPECT_TRUE(json::parse(l[2])["ok"].get<bool>());
  EXPECT_EQ(run({"-m", small, "--format", "json", "-o", out, "--retry-failed", cat}).code, 2) << "needs --resume";
}

// 10. --help shows defaults and no CLI11 internals; short range messages; did-you-mean; any case.
TEST_F(NewUser, Item10_HelpAndMessages) {
  const t::CliRun help = run({"--help"});
  for (const char* d : {"(default 5)", "default text", "(default auto)", "(default 8)", "auto, cpu, cuda or cuda:N"})
    EXPECT_NE(help.out.find(d), std::string::npos) << d;
  EXPECT_EQ(help.out.find("Excludes"), std::string::npos) << help.out;
  EXPECT_EQ(help.out.find("vit_base_patch16_224"), std::string::npos) << "an example model setup does not create";
  t::CliRun r = run({"-k", "0", cat});
  EXPECT_EQ(r.code, 2);
  EXPECT_LT(r.err.size(), 200u) << r.err;
  r = run({"--formt", "json", cat});
  EXPECT_NE(r.err.find("did you mean --format"), std::string::npos) << r.err;
  r = run({"-m", small, "--format", "JSON", cat});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["ok"], true);
}

// 11. classify is a real (default) subcommand, and help is one too.
TEST_F(NewUser, Item11_ClassifyAndHelpAreSubcommands) {
  const t::CliRun a = run({"-m", small, "classify", cat}), b = run({"-m", small, cat});
  EXPECT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  t::CliRun h = run({"help"});
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("explain"), std::string::npos);
  h = run({"help", "explain"});
  EXPECT_NE(h.out.find("vit-classify explain"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("--head-fusion"), std::string::npos);
  EXPECT_EQ(run({"help", "nonsense"}).code, 2);
}

// 12. "-" reads the image from standard input.
TEST_F(NewUser, Item12_DashReadsTheImageFromStdin) {
  const t::CliRun from_file = run({"-m", small, "--format", "json", cat});
  const t::CliRun from_stdin = run({"-m", small, "--format", "json", "-"}, t::read_bytes(cat));
  ASSERT_EQ(from_stdin.code, 0) << from_stdin.err;
  const json a = json::parse(from_file.out), b = json::parse(from_stdin.out);
  EXPECT_EQ(b["file"], "-");
  EXPECT_EQ(a["predictions"], b["predictions"]);
  const t::CliRun bin = binary("-m '" + small + "' --format json - < '" + cat + "'");
  EXPECT_EQ(bin.code, 0) << bin.err;
  EXPECT_EQ(run({"-m", small, "-", "-"}, "x").code, 2);
}

// 13. --version names the libraries in use, CUDA and the commit.
TEST_F(NewUser, Item13_VersionNamesTheLibraries) {
  const t::CliRun r = run({"--version"});
  EXPECT_EQ(r.code, 0);
  for (const char* s : {"vit-classify ", "(commit ", "LibTorch 1.", "OpenCV 4.", "BLAS: ", "CUDA: "})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << " in " << r.out;
}

// 15. A GIF is named as such; files skipped for their type are counted at -v.
TEST_F(NewUser, Item15_GifIsNamedAndSkippedFilesCounted) {
  ::mkdir(dir.file("folder").c_str(), 0755);
  t::write_bytes(dir.file("folder/anim.gif"), std::string("GIF89a\x01\x00\x01\x00\x00\x00\x00;", 13));
  t::write_bytes(dir.file("folder/notes.txt"), "not an image\n");
  t::write_bytes(dir.file("folder/cat.png"), t::read_bytes(cat));
  t::CliRun r = run({"-m", small, "--format", "json", dir.file("folder/anim.gif")});
  EXPECT_NE(json::parse(r.out)["error"].get<std::string>().find("GIF"), std::string::npos) << r.out;
  r = run({"-v", "-m", small, "--format", "json", "-r", dir.file("folder")});
  EXPECT_EQ(lines(r.out).size(), 1u) << r.out;
  EXPECT_NE(r.err.find("2 files skipped in the folders"), std::string::npos) << r.err;
}

// 16. explain says where the page is, and picks a folder when -o is not given.
TEST_F(NewUser, Item16_ExplainSaysWhereThePageIs) {
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(::chdir(dir.path().c_str()), 0);
  const t::CliRun r = run({"explain", "-m", small, cat});
  ASSERT_EQ(::chdir(cwd), 0);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("wrote chelsea-explained/index.html"), std::string::npos) << r.err;
  const std::string page = t::read_bytes(dir.file("chelsea-explained/index.html"));
  EXPECT_NE(page.find("<img src=\"rollout.png\""), std::string::npos);
  EXPECT_EQ(page.find("pictures:"), std::string::npos) << "no test scaffolding in the user's page";
}

// 14. JSON records name the model as the user did, and by the file's SHA-256.
TEST_F(NewUser, Item14_RecordsNameTheModelByPathAndDigest) {
  const t::CliRun r = run({"-m", small, "--format", "json", cat});
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["model"], small);
  ASSERT_EQ(std::system(("sha256sum '" + small + "' > " + dir.file("sum")).c_str()), 0);
  EXPECT_EQ(j["model_sha256"], t::read_bytes(dir.file("sum")).substr(0, 64));
}

// 17. explain's per-head panels: each on its own scale with the high-norm patches left out;
// matrix ticks at round numbers; a clearer font where there is one.
TEST(NewUserExplain, Item17_PanelScaleLeavesHighNormPatchesOut) {
  vit::AttentionTrace t;
  t.grid = 2, t.prefix = 1, t.tokens = 5;
  t.token_norms = {5.f, 1.f, 1.2f, 30.f, 0.9f};  // the third patch's token is a high-norm one
  EXPECT_EQ(vit::high_norm_patches(t), (std::vector<bool>{false, false, true, false}));
  const float row[] = {0.01f, 0.02f, 0.9f, 0.03f};
  EXPECT_FLOAT_EQ(vit::panel_scale(row, 4, vit::high_norm_patches(t)), 0.03f);
  EXPECT_FLOAT_EQ(vit::panel_scale(row, 4, std::vector<bool>(4, true)), 0.9f) << "all excluded: the whole row";
  EXPECT_EQ(vit::round_ticks(197), (std::vector<int>{0, 25, 50, 75, 100, 125, 150, 175}));
  EXPECT_EQ(vit::round_ticks(17), (std::vector<int>{0, 5, 10, 15}));
  if (t::exists("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")) {
    EXPECT_NE(vit::draw::text_size("Egyptian cat", 0.5).width,
              cv::getTextSize("Egyptian cat", cv::FONT_HERSHEY_SIMPLEX, 0.5, 1, nullptr).width)
        << "DejaVu Sans, not Hershey";
  }
}

TEST_F(NewUser, Item17_RealModelsCornerTokensAreTheHighNormOnes) {
  VIT_REQUIRE_FILE(t::real_weights());
  const std::string out = dir.file("x");
  const t::CliRun r = run({"explain", "-m", t::real_weights(), cat, "-o", out, "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(t::read_bytes(out + "/explain.json"));
  EXPECT_EQ(j["head_scale"], "panel");
  EXPECT_EQ(j["high_norm_patches"], json({1, 14, 183, 196})) << "ViT-Ti's four corner patches (Darcet et al.)";
  EXPECT_NE(t::read_bytes(out + "/index.html").find("left out of the scale"), std::string::npos);
}

// Issue 23 ("Every fact once"), items 10 and 11: where the model comes from without -m.
namespace {

// A copy of the binary laid out as installed (PREFIX/bin/vit-classify) or as built in a build
// tree (SRC/build/vit-classify with CMakeCache.txt naming SRC), run with HOME and the cwd of
// this test's own folders and no model variables unless given.
class ModelSource : public ::testing::Test {
 protected:
  void SetUp() override {
    VIT_REQUIRE_FILE(small);
    VIT_REQUIRE_FILE(cat);
    for (const std::string d : {"prefix/bin", "home", "work", "src/build"})
      ASSERT_EQ(std::system(("mkdir -p " + dir.file(d)).c_str()), 0);
    ASSERT_EQ(std::system(("cp " + std::string(VIT_BINARY) + " " + installed() + " && cp " + VIT_BINARY + " " +
                           built() + " && printf 'CMAKE_HOME_DIRECTORY:INTERNAL=" + dir.file("src") + "\\n' > " +
                           dir.file("src/build/CMakeCache.txt"))
                              .c_str()),
              0);
  }
  std::string installed() const { return dir.file("prefix/bin/vit-classify"); }
  std::string built() const { return dir.file("src/build/vit-classify"); }
  // Puts the 10-class test model (and its config.json) into `folder`.
  void put_model(const std::string& folder) {
    const std::string from = t::fixtures() + "/small/";
    ASSERT_EQ(std::system(
                  ("mkdir -p " + folder + " && cp " + from + "timm.safetensors " + from + "config.json " + folder + "/")
                      .c_str()),
              0);
  }
  t::CliRun run(const std::string& bin, const std::string& env, const std::string& args) {
    const std::string out = dir.file("out"), err = dir.file("err");
    const std::string cmd = "cd " + dir.file("work") +
                            " && env -u VIT_CLASSIFY_MODEL -u XDG_DATA_HOME HOME=" + dir.file("home") + " " + env +
                            " " + bin + " " + args + " >" + out + " 2>" + err;
    const int status = std::system(cmd.c_str());
    return {WEXITSTATUS(status), t::read_bytes(out), t::read_bytes(err)};
  }
  std::string small = t::fixtures() + "/small/timm.safetensors";
  std::string cat = t::skimage("chelsea.png");
  t::TempDir dir;
};

}  // namespace

// 10. A $VIT_CLASSIFY_MODEL that names no file said "cannot open model file" without the variable.
TEST_F(ModelSource, Issue23Item10_TheVariableIsNamedWhenItsModelFails) {
  const t::CliRun r = run(installed(), "VIT_CLASSIFY_MODEL=/nonexistent.safetensors", cat);
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("/nonexistent.safetensors"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("$VIT_CLASSIFY_MODEL"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

// 11. An installed binary looks where installed tools look, in this order, and -v says which.
TEST_F(ModelSource, Issue23Item11_InstalledBinaryLooksInTheDataDirsAndSaysWhere) {
  put_model(dir.file("work/models"));  // a models/ in the working directory is no place to look
  t::CliRun r = run(installed(), "", cat);
  EXPECT_EQ(r.code, 2) << r.err;
  for (const std::string& looked :
       std::vector<std::string>{"$VIT_CLASSIFY_MODEL", dir.file("home/.local/share/vit-classify/models"),
                                dir.file("prefix/share/vit-classify/models")})
    EXPECT_NE(r.err.find(looked), std::string::npos) << looked << " in: " << r.err;

  put_model(dir.file("prefix/share/vit-classify/models"));
  r = run(installed(), "", "-v -k 1 " + cat);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("from the folder " + dir.file("prefix/share/vit-classify/models")), std::string::npos) << r.err;

  put_model(dir.file("home/.local/share/vit-classify/models"));  // the user's data dir comes first
  r = run(installed(), "", "-v -k 1 " + cat);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("from the folder " + dir.file("home/.local/share/vit-classify/models")), std::string::npos)
      << r.err;

  put_model(dir.file("xdg/vit-classify/models"));
  r = run(installed(), "XDG_DATA_HOME=" + dir.file("xdg"), "-v -k 1 " + cat);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("from the folder " + dir.file("xdg/vit-classify/models")), std::string::npos) << r.err;

  r = run(installed(), "VIT_CLASSIFY_MODEL=" + small, "-v -k 1 " + cat);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("from $VIT_CLASSIFY_MODEL"), std::string::npos) << r.err;
  r = run(installed(), "", "-v -k 1 -m " + small + " " + cat);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("from -m"), std::string::npos) << r.err;
}

// 11. The binary of a build tree uses its checkout's models/ (scripts/setup.sh puts one there),
// found from the executable's own folder, not from a path compiled in.
TEST_F(ModelSource, Issue23Item11_BuildTreeBinaryUsesItsCheckoutsModels) {
  t::CliRun r = run(built(), "", cat);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find(dir.file("src/models")), std::string::npos) << r.err;
  put_model(dir.file("src/models"));
  r = run(built(), "", "-v -k 1 " + cat);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("from the folder " + dir.file("src/models")), std::string::npos) << r.err;
}
