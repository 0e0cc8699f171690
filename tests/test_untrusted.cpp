// Untrusted input found by a security probe: names and configs that overflowed std::regex's
// stack, images whose header reader and decoder disagreed on the size (so --max-pixels was
// checked against the wrong one), scan bombs, output files emptied before their lock was
// taken, and messages that printed 100 KB of a hostile name. Each case writes its own files.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "child_run.h"
#include "test_util.h"
#include "vit/errors.h"
#include "vit/image/decode.h"
#include "vit/image/image_header.h"
#include "vit/model/architecture.h"

namespace vit::test {
namespace {

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }
std::string be32(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }
std::string le(uint64_t v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += char((v >> (8 * i)) & 0xFF);
  return s;
}

// The message of decode_image_bytes' ImageError for these bytes ("" when it decodes).
std::string decode_error(const std::string& b) {
  try {
    decode_image_bytes(bytes_of(b), "x");
  } catch (const ImageError& e) {
    return e.what();
  }
  return "";
}

class Untrusted : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(exists(timm_)) << "run the make_fixtures test first";
    ASSERT_TRUE(exists(hf_)) << "run the make_fixtures test first";
  }
  std::string path(const std::string& rel) const { return tmp_.path() + "/" + rel; }
  // A folder holding the small timm fixture as model.safetensors (extra tensors added) and this config.json.
  std::string model_folder(const std::string& name, const std::string& config, const std::vector<StEntry>& extra = {}) {
    const std::string dir = path(name);
    ::mkdir(dir.c_str(), 0755);
    auto entries = read_entries(timm_);
    entries.insert(entries.end(), extra.begin(), extra.end());
    write_safetensors(dir + "/model.safetensors", entries);
    if (!config.empty()) write_bytes(dir + "/config.json", config);
    return dir + "/model.safetensors";
  }
  ChildRun run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--format", "json", "--no-progress"});
    return run_binary(args, tmp_.path());
  }
  const std::string timm_ = fixtures() + "/small/timm.safetensors";
  const std::string hf_ = fixtures() + "/small/hf/model.safetensors";
  const std::string photo_ = fixtures() + "/images/photo.jpg";
  TempDir tmp_;
};

// std::regex recursed once per character of a tensor name: blocks.<100000 digits>.norm1.weight
// ended the process with SIGSEGV (139). It is an unknown tensor, quoted in 200 characters.
TEST_F(Untrusted, AHundredThousandDigitBlockIndexIsAnUnknownTensor) {
  const std::string name = "blocks." + std::string(100000, '7') + ".norm1.weight";
  const std::string model = model_folder("digits", "", {{name, "F32", {1}, std::string(4, '\0')}});
  const ChildRun r = run({"-m", model, "--heads", std::to_string(fixture_heads("small")), photo_});
  EXPECT_EQ(r.code, 3) << r.err.substr(0, 2000);
  EXPECT_NE(r.err.find("unexpected tensor 'blocks.777"), std::string::npos) << r.err.substr(0, 2000);
  EXPECT_NE(r.err.find("... (100020 bytes)"), std::string::npos) << r.err.substr(0, 2000);
  EXPECT_LT(r.err.size(), 2000u) << "the whole name was printed";
}

// config.json's architecture went through a regex too: "vit_" + 50,000 x crashed the same way.
TEST_F(Untrusted, AFiftyThousandCharacterArchitectureIsRefused) {
  const std::string model =
      model_folder("arch", R"({"architecture": "vit_)" + std::string(50000, 'x') + R"(", "num_classes": 10})");
  const ChildRun r = run({"-m", model, photo_});
  EXPECT_EQ(r.code, 3) << r.err.substr(0, 2000);
  EXPECT_NE(r.err.find("architecture is 50004 characters long"), std::string::npos) << r.err.substr(0, 2000);
  EXPECT_LT(r.err.size(), 2000u);
}

TEST(UntrustedNames, ArchitectureSizesAreReadByHand) {
  EXPECT_EQ(timm_architecture_facts("vit_base_patch16_224").heads, 12);
  EXPECT_EQ(timm_architecture_facts("deit3_small_patch16_384.fb_in22k_ft_in1k").heads, 6);
  EXPECT_EQ(timm_architecture_facts("vit_tiny").heads, 3);
  EXPECT_EQ(timm_architecture_facts("flexivit_large").heads, 16);
  EXPECT_EQ(timm_architecture_facts("vit_Base_patch16").heads, 0);  // the regex took [a-z0-9] only
  EXPECT_EQ(timm_architecture_facts("vit__base").heads, 0);
  EXPECT_EQ(timm_architecture_facts("base").heads, 0);
  EXPECT_EQ(timm_architecture_facts("vit-base_x").heads, 0);
}

// A config's input size is untrusted: [3, 16384, 16384] asked for gigabytes of position
// embeddings and activations. Over 4096 it is refused (exit 3) unless --image-size asks.
TEST_F(Untrusted, AConfigInputSizeOver4096IsRefused) {
  const std::string model = model_folder(
      "big", R"({"architecture": "vit_custom", "num_classes": 10, "model_args": {"num_heads": )" +
                 std::to_string(fixture_heads("small")) + R"(}, "pretrained_cfg": {"input_size": [3, 16384, 16384]}})");
  const ChildRun r = run({"-m", model, photo_});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("asks for 16384 x 16384 pixel inputs, over the 4096"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--image-size"), std::string::npos) << r.err;
}

// libtiff takes the first of two ImageWidth tags; the header reader took the last (1x1 checked,
// 25000x25000 decoded). Two of either tag are refused.
TEST(UntrustedImages, DuplicatedTiffSizeTagsAreRefused) {
  const auto entry = [](int tag, uint32_t v) { return le(tag, 2) + le(4, 2) + le(1, 4) + le(v, 4); };
  const std::string tiff = "II*" + std::string(1, '\0') + le(8, 4) + le(5, 2) + entry(256, 25000) + entry(257, 25000) +
                           entry(256, 1) + entry(257, 1) + entry(259, 1) + le(0, 4) + std::string(64, '\0');
  const auto h = read_image_header(bytes_of(tiff));
  ASSERT_TRUE(h.has_value());
  EXPECT_NE(h->refusal.find("two ImageWidth tags"), std::string::npos) << h->width << "x" << h->height;
  EXPECT_NE(decode_error(tiff).find("two ImageWidth tags"), std::string::npos) << decode_error(tiff);
}

// OpenCV ends a PNM comment at '\r' as well as '\n'; the header reader went on to '\n' and read
// the next line's 1 1 where OpenCV read 25000 25000.
TEST(UntrustedImages, APnmCommentEndsAtACarriageReturnAsInOpenCV) {
  const std::string ppm = "P6\n# made by hand\r25000 25000\n1 1\n255\n" + std::string(64, '\0');
  const auto h = read_image_header(bytes_of(ppm));
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->width, 25000);
  EXPECT_EQ(h->height, 25000);
  EXPECT_NE(decode_error(ppm).find("25000x25000 = 625 megapixels, over the limit"), std::string::npos)
      << decode_error(ppm);
  // Windows line ends in comments still read as before.
  const auto crlf = read_image_header(bytes_of("P5\r\n# gray\r\n3 2\r\n255\r\n" + std::string(6, '\x80')));
  ASSERT_TRUE(crlf.has_value());
  EXPECT_EQ(crlf->width, 3);
  EXPECT_EQ(crlf->height, 2);
}

// A DICOM file's 128-byte preamble may hold a JPEG 2000 header saying 1x1; OpenCV (with GDCM)
// decodes the DICOM, 20000x20000. A file with DICM at byte 128 is refused as unsupported.
TEST(UntrustedImages, ADicomFileIsRefusedWhateverItsPreambleSays) {
  std::string preamble = std::string("\0\0\0\x0CjP  \r\n\x87\n", 12) + be32(45) + "jp2h" + be32(22) + "ihdr" + be32(1) +
                         be32(1) + std::string(6, '\0');
  preamble.resize(128, '\0');
  const std::string dicom = preamble + "DICM" + std::string(256, '\0');
  const auto h = read_image_header(bytes_of(dicom));
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->format, "DICOM");
  EXPECT_NE(decode_error(dicom).find("it is a DICOM file (DICM at byte 128)"), std::string::npos)
      << decode_error(dicom);
}

// A progressive JPEG decodes once per scan: 8000 scans of 8000x8000 took 93 s. More than 1000
// scans are refused before decoding, as libjpeg-turbo's djpeg -maxscans does.
TEST(UntrustedImages, AJpegWithMoreThanAThousandScansIsRefused) {
  const std::string sof2 = std::string("\xFF\xC2\x00\x0B\x08\x00\x08\x00\x08\x01\x01\x11\x00", 13);
  const std::string scan = std::string("\xFF\xDA\x00\x08\x01\x01\x00\x00\x00\x00", 10) + "\x12\xFF\x00\x34";
  std::string jpeg = "\xFF\xD8" + sof2;
  for (int i = 0; i < 1001; ++i) jpeg += scan;
  jpeg += "\xFF\xD9";
  EXPECT_EQ(jpeg_scan_count(bytes_of(jpeg), kMaxJpegScans), 1001u);
  EXPECT_NE(decode_error(jpeg).find("more than 1000 scans"), std::string::npos) << decode_error(jpeg);
  // A real progressive JPEG has a handful of scans and decodes.
  std::vector<uint8_t> progressive;
  cv::Mat m(64, 64, CV_8UC3, cv::Scalar(10, 120, 230));
  ASSERT_TRUE(cv::imencode(".jpg", m, progressive, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  const size_t scans = jpeg_scan_count(progressive, kMaxJpegScans);
  EXPECT_GT(scans, 1u);
  EXPECT_LT(scans, 20u);
  EXPECT_NO_THROW(decode_image_bytes(progressive, "progressive.jpg"));
}

// OpenJPEG's errors went through OpenCV's logger to stderr ("[ERROR:0@0.1] ... OpenJPEG2000:")
// whatever the verbosity; they are codec messages, shown at -v only.
TEST_F(Untrusted, OpenJpegMessagesAreLoggedAtVerboseOnly) {
  std::vector<uint8_t> jp2;
  ASSERT_TRUE(cv::imencode(".jp2", cv::Mat(32, 32, CV_8UC3, cv::Scalar(1, 2, 3)), jp2));
  std::string cut(jp2.begin(), jp2.end());
  cut.resize(cut.size() * 2 / 3);
  write_bytes(path("cut.jp2"), cut);
  const ChildRun quiet = run({"-m", hf_, path("cut.jp2")});
  EXPECT_EQ(quiet.code, 1) << quiet.err;
  EXPECT_EQ(quiet.err.find("[ERROR"), std::string::npos) << quiet.err;
  EXPECT_EQ(quiet.err.find("OpenJPEG"), std::string::npos) << quiet.err;
  const ChildRun verbose = run({"-v", "-m", hf_, path("cut.jp2")});
  EXPECT_NE(verbose.err.find("JPEG 2000 decoder:"), std::string::npos) << verbose.err;
  EXPECT_EQ(verbose.err.find("[ERROR"), std::string::npos) << verbose.err;
}

// --force emptied the -o file before it asked for the lock, so a second run wiped the records
// of the run writing them, then said "being written by another run". The lock comes first.
TEST_F(Untrusted, ForceLeavesAnotherRunsOutputFileAlone) {
  const std::string out = path("records.jsonl");
  write_bytes(out, "{\"file\":\"a.jpg\",\"ok\":true}\n");
  const int fd = ::open(out.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);  // as the other run holds it
  const ChildRun r = run({"-m", hf_, "-o", out, "--force", photo_});
  ::close(fd);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("being written by another vit-classify run"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(out), "{\"file\":\"a.jpg\",\"ok\":true}\n");
  // Unlocked, --force replaces it.
  const ChildRun again = run({"-m", hf_, "-o", out, "--force", photo_});
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(read_bytes(out).find("a.jpg"), std::string::npos);
}

// NaN weights: fp32 and bf16 wrote a failed record per image (exit 1); int8 stopped the run
// (exit 3, no records). Every precision now does the same.
TEST_F(Untrusted, NanWeightsGiveFailedRecordsAtEveryPrecision) {
  auto entries = read_entries(hf_);
  for (auto& e : entries)
    if (e.name.find("attention.attention.query.weight") != std::string::npos) e.bytes.replace(0, 4, "\0\0\xc0\x7f", 4);
  ::mkdir(path("nan").c_str(), 0755);
  write_safetensors(path("nan/model.safetensors"), entries);
  write_bytes(path("nan/config.json"), read_bytes(fixtures() + "/small/hf/config.json"));
  for (const char* precision : {"fp32", "bf16", "int8"}) {
    const ChildRun r = run({"-m", path("nan/model.safetensors"), "--precision", precision, photo_, photo_});
    EXPECT_EQ(r.code, 1) << precision << ": " << r.err;
    const auto records = json_records(r.out);
    ASSERT_EQ(records.size(), 2u) << precision << ": " << r.out << r.err;
    for (const auto& rec : records) {
      EXPECT_FALSE(rec["ok"].get<bool>()) << precision;
      EXPECT_NE(rec.value("error", "").find("non-finite scores"), std::string::npos) << precision << ": " << rec;
    }
  }
}

// A size option given -1 printed a range up to 1.8e308 in full (explain --layer, --head); every
// size option says what was given and its range.
TEST(UntrustedOptions, NegativeSizesAreUsageErrorsThatSayWhatWasGiven) {
  const std::vector<std::vector<std::string>> cases{
      {"--max-pixels", "-1", "x.jpg"},      {"--image-size", "-1", "x.jpg"},    {"--top-k", "-1", "x.jpg"},
      {"--batch-size", "-1", "x.jpg"},      {"eval", "--worst", "-1", "x.csv"}, {"explain", "--layer", "-1", "x.jpg"},
      {"explain", "--head", "-1", "x.jpg"}, {"explain", "--head", "0", "x.jpg"}};
  for (const auto& args : cases) {
    const CliRun r = run_cli_capture(args);
    EXPECT_EQ(r.code, 2) << args[0] << " " << args[1] << ": " << r.err;
    EXPECT_NE(r.err.find("Value " + args[args.size() - 2] + " not in range"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("18446744073709551615"), std::string::npos) << r.err;
    EXPECT_LT(r.err.size(), 300u) << r.err;
  }
}

}  // namespace
}  // namespace vit::test
