// Hostile inputs: files a batch meets in the wild, and model files made to hurt. Each case has
// its expected error text; in a batch, every other input is still classified exactly as when
// run alone, and no case makes a run take more than 1.5x its normal peak memory. The binary
// runs as a child process here, so that its exit status and peak RSS are its own.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "child_run.h"
#include "test_util.h"
#include "vit/image/image_header.h"

using namespace vit;
namespace t = vit::test;
using nlohmann::json;
using vit::test::ChildRun;
using vit::test::run_binary;

namespace {

// Sanitizers' shadow memory makes RSS figures meaningless: they are printed, not checked.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

std::string be32(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }
std::string le(uint64_t v, int n) {  // n little-endian bytes; those past the 8th are zero
  std::string s;
  for (int i = 0; i < n; ++i) s += char(i < 8 ? (v >> (8 * i)) & 0xFF : 0);
  return s;
}
std::string png_chunk(const std::string& type, const std::string& data) {
  const std::string body = type + data;
  const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  return be32(static_cast<uint32_t>(data.size())) + body + be32(static_cast<uint32_t>(crc));
}
std::string encode(const std::string& ext, const cv::Mat& m) {
  std::vector<uint8_t> buf;
  cv::imencode(ext, m, buf);
  return std::string(buf.begin(), buf.end());
}
// A committed fuzz seed (its first byte is the target's option byte): a small valid image.
std::string seed_image(const std::string& name) {
  return t::read_bytes(std::string(VIT_SOURCE_DIR) + "/tests/fuzz/corpus/image/" + name).substr(1);
}

// A file whose header claims 30000x30000 = 900 megapixels, in each format with a size field.
std::map<std::string, std::string> bombs() {
  std::map<std::string, std::string> b;
  b["bomb.png"] = std::string("\x89PNG\r\n\x1a\n", 8) +
                  png_chunk("IHDR", be32(30000) + be32(30000) + "\x08\x02" + std::string(3, '\0'));
  // 9 MB of zero rows, deflated to ~9 KB: what a real PNG bomb carries.
  std::string zeros(30000 * 3 + 1, '\0'), idat;
  for (int row = 0; row < 100; ++row) idat += zeros;
  uLongf n = compressBound(static_cast<uLong>(idat.size()));
  std::string z(n, '\0');
  compress2(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(idat.data()), idat.size(), 9);
  b["bomb.png"] += png_chunk("IDAT", z.substr(0, n)) + png_chunk("IEND", "");
  std::string jpeg = encode(".jpg", cv::Mat(64, 64, CV_8UC3, cv::Scalar(90, 120, 200)));
  const size_t sof = jpeg.find("\xff\xc0");
  jpeg.replace(sof + 5, 4, std::string("\x75\x30\x75\x30", 4));
  b["bomb.jpg"] = jpeg;
  b["bomb.bmp"] =
      "BM" + le(0, 12) + le(40, 4) + le(30000, 4) + le(30000, 4) + le(1, 2) + le(24, 2) + std::string(64, '\0');
  b["bomb.webp"] =
      "RIFF" + le(100, 4) + "WEBPVP8X" + le(10, 4) + le(0, 4) + le(29999, 3) + le(29999, 3) + std::string(64, '\0');
  b["bomb.tif"] = "II*" + std::string(1, '\0') + le(8, 4) + le(3, 2) + le(256, 2) + le(4, 2) + le(1, 4) + le(30000, 4) +
                  le(257, 2) + le(4, 2) + le(1, 4) + le(30000, 4) + le(259, 2) + le(3, 2) + le(1, 4) + le(8, 4) +
                  le(0, 4);
  b["bomb.ppm"] = "P6\n30000 30000\n255\n" + std::string(64, '\0');
  b["bomb.ras"] = "\x59\xA6\x6A\x95" + be32(30000) + be32(30000) + be32(24) + std::string(20, '\0');
  b["bomb.jp2"] = std::string("\0\0\0\x0CjP  \r\n\x87\n", 12) + be32(45) + "jp2h" + be32(22) + "ihdr" + be32(30000) +
                  be32(30000) + std::string(6, '\0') + std::string(64, '\0');
  return b;
}

class Hostile : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = t::fixtures() + "/small/hf/model.safetensors";
    VIT_REQUIRE_FILE(model_);
    VIT_REQUIRE_FILE(t::fixtures() + "/images/photo.jpg");
    ::mkdir(dir("good").c_str(), 0755);
    ::mkdir(dir("mixed").c_str(), 0755);
    good_ = {{"coffee.png", t::read_bytes(t::skimage("coffee.png"))},
             {"chelsea.png", t::read_bytes(t::skimage("chelsea.png"))},
             {"photo.jpg", t::read_bytes(t::fixtures() + "/images/photo.jpg")}};
    for (const auto& [name, bytes] : good_) t::write_bytes(dir("good/" + name), bytes);
  }
  std::string dir(const std::string& rel) { return tmp_.path() + "/" + rel; }
  std::vector<std::string> args(std::vector<std::string> extra) {
    std::vector<std::string> a{"-m", model_, "-k", "3", "--format", "json", "--no-progress"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  std::string model_;
  std::map<std::string, std::string> good_;
  t::TempDir tmp_;
};

struct Case {
  std::string name;
  std::function<void(const std::string& path)> make;
  std::string expect;  // a fragment of the error record; empty: classified
};

std::vector<Case> image_cases() {
  const std::string coffee = t::read_bytes(t::skimage("coffee.png"));
  std::string bad_crc = coffee;
  bad_crc[bad_crc.find("IDAT") + 4 + 100] ^= 0x55;  // data inside the first IDAT chunk
  const std::string jpeg = t::read_bytes(t::fixtures() + "/images/photo.jpg");
  const auto bytes = [](std::string b) { return [b](const std::string& p) { t::write_bytes(p, b); }; };
  const auto link = [](std::string to) {
    return [to](const std::string& p) { ASSERT_EQ(::symlink(to.c_str(), p.c_str()), 0); };
  };
  std::vector<Case> c{
      {"empty.jpg", bytes(""), "is empty (0 bytes)"},
      {"cut.jpg", bytes(jpeg.substr(0, jpeg.size() / 2)), "truncated or corrupt JPEG"},
      {"cut.png", bytes(coffee.substr(0, coffee.size() / 2)), "PNG data is corrupt or cut short"},
      {"header-only.png", bytes(coffee.substr(0, 20)), "PNG header is cut short or corrupt"},
      {"bad-crc.png", bytes(bad_crc), "PNG data is corrupt or cut short"},
      {"text.jpg", bytes("Dear diary,\nthis is not a photo.\n"), "it looks like a text file"},
      {"anim.png", bytes("GIF89a" + std::string(64, '\x01')), "it is a GIF"},
      {"tiny.png", bytes(encode(".png", cv::Mat(1, 1, CV_8UC3, cv::Scalar(10, 200, 30)))), ""},
      {"sliver.png", bytes(encode(".png", cv::Mat(20000, 1, CV_8UC3, cv::Scalar(1, 2, 3)))), ""},
      {"deep.png", bytes(encode(".png", cv::Mat(40, 50, CV_16UC3, cv::Scalar(1000, 30000, 65535)))), ""},
      {"cmyk.jpg", bytes(seed_image("cmyk.jpg")), ""},
      {"palette.png", bytes(seed_image("palette.png")), ""},
      {"gray16.png", bytes(seed_image("16bit.png")), ""},
      {"page.tif", bytes(seed_image("gray.tif")), ""},
      {"still.webp", bytes(seed_image("lossy.webp")), ""},
      {"wavelet.jp2", bytes(seed_image("jp2")), ""},
      {"radiance.hdr", bytes(seed_image("hdr")), ""},
      {std::string("caf\xe9-latin1.png"), bytes(coffee), ""},
      {"pipe.jpg", [](const std::string& p) { ASSERT_EQ(::mkfifo(p.c_str(), 0644), 0); }, "is not a regular file"},
      {"zero.png", link("/dev/zero"), "is not a regular file"},
      {"loop.jpg", link("loop.jpg"), "Too many levels of symbolic links"},
      {"gone.png", link("/nonexistent/removed-after-listing.png"), "No such file or directory"},
  };
  for (const auto& [name, b] : bombs()) c.push_back({name, bytes(b), "30000x30000 = 900 megapixels, over the limit"});
  if (::geteuid() != 0)
    c.push_back({"locked.png", [coffee](const std::string& p) { t::write_bytes(p, coffee), ::chmod(p.c_str(), 0); },
                 "Permission denied"});
  return c;
}

// Every hostile image in one folder with the good photos, under -r and default options: one
// record per input with its own error, the good photos exactly as when run alone, exit 1, and
// no more than 1.5x the memory of the good photos alone.
TEST_F(Hostile, EveryBadImageGetsItsOwnRecordAndTheRestAreUntouched) {
  const ChildRun alone = run_binary(args({"-r", dir("good")}), tmp_.path());
  ASSERT_EQ(alone.code, 0) << alone.err;
  std::map<std::string, json> expected_good;
  for (const json& r : t::json_records(alone.out))
    expected_good[r["file"].get<std::string>().substr(dir("good/").size())] = r;

  for (const auto& [name, bytes] : good_) t::write_bytes(dir("mixed/" + name), bytes);
  const std::vector<Case> cases = image_cases();
  for (const Case& c : cases) c.make(dir("mixed/" + c.name));
  const ChildRun mixed = run_binary(args({"-r", dir("mixed")}), tmp_.path());
  EXPECT_EQ(mixed.code, 1) << mixed.err;
  std::map<std::string, json> got;
  for (const json& r : t::json_records(mixed.out)) {
    got[r["file"].get<std::string>().substr(dir("mixed/").size())] = r;
  }
  // A dangling symlink stands for a file removed between listing and reading.
  EXPECT_EQ(got.size(), cases.size() + good_.size()) << mixed.out;
  std::printf("| input | record |\n|---|---|\n");
  for (const Case& c : cases) {
    std::string key = c.name;
    if (!got.count(key))  // a name that is not UTF-8 is written with U+FFFD in "file"
      for (const auto& [k, r] : got)
        if (r.contains("file_hex") && k.find("-latin1.png") != std::string::npos) key = k;
    ASSERT_TRUE(got.count(key)) << c.name << " has no record";
    const json& r = got[key];
    if (c.expect.empty()) {
      EXPECT_TRUE(r["ok"].get<bool>()) << c.name << ": " << r;
    } else {
      EXPECT_FALSE(r["ok"].get<bool>()) << c.name;
      EXPECT_NE(r.value("error", "").find(c.expect), std::string::npos) << c.name << ": " << r;
    }
    std::printf("| `%s` | %s |\n", c.name.c_str(),
                r["ok"].get<bool>() ? "classified" : r["error"].get<std::string>().c_str());
  }
  for (const auto& [name, r] : expected_good) {
    ASSERT_TRUE(got.count(name)) << name;
    EXPECT_EQ(got[name]["predictions"], r["predictions"]) << name << " is classified as when run alone";
  }
  std::printf("peak RSS: good photos alone %ld MB, with every hostile input %ld MB\n", alone.peak_rss_mb,
              mixed.peak_rss_mb);
  if (!kSanitized) {
    EXPECT_LE(mixed.peak_rss_mb, alone.peak_rss_mb * 3 / 2) << "a hostile input raised the peak memory";
  }
}

// The issue's target: 8 decompression bombs and 8 good photos, -r and default options, the real
// ViT-Ti: 16 records, the 8 photos classified, exit 1, peak RSS under 1 GB.
TEST_F(Hostile, BombFolderWithRealModelStaysUnderOneGigabyte) {
  const std::string real = t::real_weights();
  if (!t::exists(real)) GTEST_SKIP() << "needs ../shared/models/vit_tiny_patch16_224.safetensors";
  ::mkdir(dir("bombs").c_str(), 0755);
  for (const auto& [name, b] : bombs()) t::write_bytes(dir("bombs/" + name), b);
  int photos = 0;
  for (const char* name : {"astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
                           "hubble_deep_field.jpg", "ihc.png", "retina.jpg"})
    if (t::exists(t::skimage(name)))
      t::write_bytes(dir("bombs/") + std::to_string(photos++) + "-" + name, t::read_bytes(t::skimage(name)));
  ASSERT_EQ(photos, 8);
  const ChildRun r = run_binary({"-m", real, "--format", "json", "--no-progress", "-r", dir("bombs")}, tmp_.path());
  EXPECT_EQ(r.code, 1) << r.err;
  const auto rec = t::json_records(r.out);
  ASSERT_EQ(rec.size(), 16u) << r.out;
  int ok = 0;
  for (const json& x : rec) ok += x["ok"].get<bool>();
  EXPECT_EQ(ok, 8);
  std::printf("bomb folder: 16 records, %d classified, exit %d, peak RSS %ld MB, %.2f s\n", ok, r.code, r.peak_rss_mb,
              r.seconds);
  if (!kSanitized) {
    EXPECT_LT(r.peak_rss_mb, 1024);
  }
}

struct ModelCase {
  std::string name;
  std::function<std::string(const std::string& dir)> make;  // returns the -m path
  int exit;
  std::string expect;  // a fragment of stderr
};

std::vector<ModelCase> model_cases(const std::string& model) {
  const std::string hostile = t::fixtures() + "/hostile/";
  const auto fixture = [hostile](std::string f) { return [hostile, f](const std::string&) { return hostile + f; }; };
  const auto file = [](std::string name, std::string bytes) {
    return [name, bytes](const std::string& dir) {
      t::write_bytes(dir + "/" + name, bytes);
      return dir + "/" + name;
    };
  };
  std::string overflow(8, '\0');
  const std::string header = R"({"a":{"dtype":"F32","shape":[4611686018427387904,16],"data_offsets":[0,8]}})";
  overflow[0] = static_cast<char>(header.size());
  overflow += header + std::string(8, '\0');
  std::string flipped = t::read_bytes(t::fixtures() + "/small/tv.pth");
  flipped[flipped.size() / 2] ^= 0x20;  // inside the tensor data
  auto nan_entries = t::read_entries(model);
  for (auto& e : nan_entries)
    if (e.name.find("attention.attention.query.weight") != std::string::npos) e.bytes.replace(0, 4, "\0\0\xc0\x7f", 4);
  return {
      {"empty.safetensors", file("empty.safetensors", ""), 3, "is empty"},
      {"empty.pth", file("empty.pth", ""), 3, "is empty"},
      {"text.safetensors", file("text.safetensors", "{\"not\": \"weights\"}\n"), 3, "safetensors"},
      {"overflow.safetensors", file("overflow.safetensors", overflow), 3, "overflows"},
      {"truncated.safetensors", file("truncated.safetensors", t::read_bytes(model).substr(0, 5000)), 3, "safetensors"},
      {"flipped.pth", file("flipped.pth", flipped), 3, "fails its CRC-32 check"},
      {"malicious.pth (os.system)", fixture("malicious.pth"), 3, "asks to call posix.system"},
      {"deep_nesting.pth (1,000,000 lists)", fixture("deep_nesting.pth"), 3, "more than 500000 values"},
      {"zip_bomb.pth (50 MB data.pkl)", fixture("zip_bomb.pth"), 3, "a zip bomb?"},
      {"not_vit.pt (TorchScript conv net)", fixture("not_vit.pt"), 3, "not a Vision Transformer"},
      {"a FIFO",
       [](const std::string& dir) {
         ::mkfifo((dir + "/fifo.pth").c_str(), 0644);
         return dir + "/fifo.pth";
       },
       3, "not a regular file"},
      // -m DIR takes the folder's open_clip_model.safetensors, else model.safetensors (as
      // from_pretrained), ...; this one has several candidates and none of those names.
      {"a folder of them", [](const std::string& dir) { return dir; }, 3, "and no open_clip_model.safetensors"},
      {"NaN in a weight",
       [nan_entries](const std::string& dir) {
         ::mkdir((dir + "/nan").c_str(), 0755);
         t::write_safetensors(dir + "/nan/model.safetensors", nan_entries);
         t::write_bytes(dir + "/nan/config.json", t::read_bytes(t::fixtures() + "/small/hf/config.json"));
         return dir + "/nan/model.safetensors";
       },
       1, "holds 1 non-finite value"},
  };
}

// Model files made to hurt: each is refused with its reason and exit status (or, for NaN
// weights, warned about), nothing in them runs, and none takes more memory than loading the
// real model and classifying with it.
TEST_F(Hostile, EveryBadModelFileIsRefusedWithItsReason) {
  VIT_REQUIRE_FILE(t::fixtures() + "/hostile/malicious.pth");
  const std::string photo = t::skimage("chelsea.png");
  const ChildRun normal = run_binary(args({photo}), tmp_.path());
  ASSERT_EQ(normal.code, 0) << normal.err;
  std::printf("normal run: peak RSS %ld MB\n| model file | exit | peak RSS | message |\n|---|---|---|---|\n",
              normal.peak_rss_mb);
  for (const ModelCase& c : model_cases(model_)) {
    ::mkdir(dir("m").c_str(), 0755);
    const std::string path = c.make(dir("m"));
    std::vector<std::string> a{"-m", path, "--format", "json", "--no-progress", photo};
    const ChildRun r = run_binary(a, tmp_.path());
    EXPECT_EQ(r.code, c.exit) << c.name << ": " << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.name << ": " << r.err;
    std::string first = r.err.substr(0, r.err.find('\n'));
    std::printf("| %s | %d | %ld MB | %s |\n", c.name.c_str(), r.code, r.peak_rss_mb, first.c_str());
    if (!kSanitized) {
      EXPECT_LE(r.peak_rss_mb, normal.peak_rss_mb * 3 / 2) << c.name << " raised the peak memory";
    }
  }
  EXPECT_FALSE(t::exists(t::fixtures() + "/hostile/PWNED")) << "the malicious pickle's command ran";
}

// Header sizes of every format the decoder takes, against the real encoders' files.
TEST(ImageHeader, ReadsTheSizeOfEveryFormat) {
  const cv::Mat m(67, 97, CV_8UC3, cv::Scalar(1, 2, 3));
  for (const std::string ext :
       {".png", ".jpg", ".bmp", ".webp", ".tif", ".ppm", ".pgm", ".pbm", ".pfm", ".pam", ".ras", ".hdr", ".jp2"}) {
    cv::Mat src = m;
    if (ext == ".pfm" || ext == ".hdr") m.convertTo(src, CV_32FC3, 1 / 255.0);
    if (ext == ".pgm" || ext == ".pbm") cv::cvtColor(m, src, cv::COLOR_BGR2GRAY);
    std::vector<uint8_t> buf;
    ASSERT_TRUE(cv::imencode(ext, src, buf)) << ext;
    const auto h = read_image_header(buf);
    ASSERT_TRUE(h.has_value()) << ext;
    EXPECT_EQ(h->width, 97) << ext << " " << h->format;
    EXPECT_EQ(h->height, 67) << ext << " " << h->format;
  }
  for (const auto& [name, b] : bombs()) {
    const auto h = read_image_header(std::vector<uint8_t>(b.begin(), b.end()));
    ASSERT_TRUE(h.has_value()) << name;
    EXPECT_EQ(h->pixels(), 900'000'000u) << name;
  }
  EXPECT_FALSE(read_image_header({'G', 'I', 'F', '8', '9', 'a'}).has_value());
  const auto cut = read_image_header({0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0});
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->pixels(), 0u);
}

}  // namespace
