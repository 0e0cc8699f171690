// Decoding and preprocessing against Pillow/torchvision (fixtures from make_fixtures.py).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "test_util.h"
#include "vit/errors.h"
#include "vit/image/decode.h"
#include "vit/image/preprocess.h"

using namespace vit;
using nlohmann::json;

namespace {

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

// (max, mean) absolute difference of two 8-bit images of one size.
std::pair<double, double> pixel_diff(const cv::Mat& a, const cv::Mat& b) {
  EXPECT_EQ(a.size(), b.size());
  EXPECT_EQ(a.type(), b.type());
  if (a.size() != b.size() || a.type() != b.type()) return {255, 255};
  cv::Mat d;
  cv::absdiff(a, b, d);
  double mx = 0;
  cv::minMaxLoc(d.reshape(1), nullptr, &mx);
  const cv::Scalar m = cv::mean(d);
  return {mx, (m[0] + m[1] + m[2]) / 3};
}

void expect_image_error(const std::string& path, const std::string& needle) {
  try {
    decode_image(path);
    ADD_FAILURE() << "decoded " << path;
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Resize, MatchesPillowEveryFilterAndScale) {
  const std::string dir = vit::test::fixtures() + "/resize";
  VIT_REQUIRE_FILE(dir + "/index.json");
  double worst_max = 0, worst_mean = 0;
  for (const auto& e : read_json(dir + "/index.json")) {
    const cv::Mat src = decode_image(e["source"]);
    const cv::Mat ours = resize_pil(src, e["width"], e["height"], parse_interpolation(e["filter"]));
    const cv::Mat ref = decode_image(dir + "/" + e["file"].get<std::string>());
    const auto [mx, mean] = pixel_diff(ours, ref);
    // Pillow's fixed-point arithmetic reproduced: identical pixels.
    EXPECT_EQ(mx, 0) << e.dump();
    worst_max = std::max(worst_max, mx);
    worst_mean = std::max(worst_mean, mean);
  }
  std::cout << "[resize vs Pillow] worst max |diff| " << worst_max << ", worst mean " << worst_mean << " (0-255)\n";
}

// A window of a resize is the same pixels as the whole resize, cropped: every filter, up and
// down, in each direction alone and both, windows at the edges and inside.
TEST(Resize, WindowEqualsWholeResizeCropped) {
  const cv::Mat src = decode_image(vit::test::skimage("chelsea.png"));  // 451x300
  const std::vector<std::pair<int, int>> sizes{{256, 170}, {451, 120}, {900, 300}, {97, 611}, {1203, 801}};
  for (const Interpolation f : {Interpolation::Nearest, Interpolation::Bilinear, Interpolation::Bicubic,
                                Interpolation::Lanczos, Interpolation::Box, Interpolation::Hamming}) {
    for (const auto& [w, h] : sizes) {
      const cv::Mat whole = resize_pil(src, w, h, f);
      for (const cv::Rect r : {cv::Rect(0, 0, w, h), cv::Rect(0, 0, 13, 7), cv::Rect(w - 50, h - 31, 50, 31),
                               cv::Rect(w / 3, h / 4, w / 2, h / 3), cv::Rect(w / 2, 0, 1, h)}) {
        const cv::Mat part = resize_pil(src, w, h, f, r);
        ASSERT_EQ(part.size(), r.size());
        EXPECT_EQ(cv::norm(part, whole(r), cv::NORM_INF), 0)
            << interpolation_name(f) << " " << w << "x" << h << " window " << r;
      }
    }
  }
  // The same image size is a plain crop.
  EXPECT_EQ(cv::norm(resize_pil(src, 451, 300, Interpolation::Bicubic, cv::Rect(5, 6, 7, 8)), src(cv::Rect(5, 6, 7, 8)),
                     cv::NORM_INF),
            0);
}

// A sliver's resize costs only its crop: 1x20000 with the timm preset is 256 x 5,120,000
// resized, 224 x 224 computed.
TEST(Preprocess, ExtremeAspectRatioCostsOnlyTheCrop) {
  const cv::Mat sliver(20000, 1, CV_8UC3, cv::Scalar(10, 20, 30));
  int side = 0;
  const std::vector<float> x = preprocess(sliver, preset_config("timm", 224), &side);
  EXPECT_EQ(side, 224);
  const PreprocessConfig cfg = preset_config("timm", 224);
  EXPECT_NEAR(x[0], (10 / 255.0f - cfg.mean[0]) / cfg.std[0], 1e-6);
  PreprocessConfig no_crop = cfg;
  no_crop.crop = 0;
  EXPECT_THROW(resize_and_crop(sliver, no_crop), ImageError) << "uncropped, it would be 1.3 gigapixels";
}

TEST(Preprocess, PresetsMatchReferencePipelines) {
  const std::string dir = vit::test::fixtures() + "/preprocess";
  VIT_REQUIRE_FILE(dir + "/index.json");
  SafetensorsFile ref(dir + "/ref.safetensors");
  std::map<std::string, double> worst;
  for (const auto& e : read_json(dir + "/index.json")) {
    const cv::Mat rgb = decode_image(e["path"]);
    for (const std::string preset : {"timm", "torchvision", "hf", "deit"}) {
      const auto expected = vit::test::read_f32(ref, std::to_string(e["id"].get<int>()) + "|" + preset);
      const auto got = preprocess(rgb, preset_config(preset, 224));
      ASSERT_EQ(got.size(), expected.size());
      double sum = 0;
      for (size_t i = 0; i < got.size(); ++i) sum += std::fabs(got[i] - expected[i]);
      const double mean = sum / got.size();
      EXPECT_LT(mean, 0.005) << e["path"] << " preset " << preset;
      // A bug (no antialiasing, BGR order, wrong crop) shows as >0.02; exact parity is ~0.
      worst[preset] = std::max(worst[preset], mean);
    }
  }
  for (const auto& w : worst) std::cout << "[preprocess " << w.first << "] worst mean |diff| " << w.second << "\n";
}

TEST(Preprocess, PresetValues) {
  const auto timm = preset_config("timm", 224);
  EXPECT_EQ(timm.resize_short, 248);
  EXPECT_EQ(timm.crop, 224);
  EXPECT_EQ(timm.interpolation, Interpolation::Bicubic);
  EXPECT_FLOAT_EQ(timm.mean[0], 0.5f);
  const auto tv = preset_config("torchvision", 224);
  EXPECT_EQ(tv.resize_short, 256);
  EXPECT_EQ(tv.interpolation, Interpolation::Bilinear);
  EXPECT_FLOAT_EQ(tv.std[2], 0.225f);
  const auto hf = preset_config("hf", 384);
  EXPECT_EQ(hf.resize_width, 384);
  EXPECT_EQ(hf.crop, 0);
  EXPECT_EQ(preset_config("timm", 384).resize_short, 384);  // timm's 384 weights use crop_pct 1.0
  EXPECT_THROW(preset_config("imagenet", 224), UsageError);
}

TEST(Preprocess, CenterCropRoundsHalfToEven) {
  // torchvision: int(round((w - 224) / 2.0)); for 225 that is round(0.5) = 0, for 227 round(1.5) = 2.
  for (int w : {225, 227}) {
    cv::Mat img(224, w, CV_8UC3);
    for (int x = 0; x < w; ++x) img.col(x).setTo(cv::Scalar(x, 0, 0));
    const cv::Mat c = center_crop(img, 224, 224);
    EXPECT_EQ(c.at<cv::Vec3b>(0, 0)[0], w == 225 ? 0 : 2) << "width " << w;
  }
}

// transformers' center_crop floors the offset ((w - 224) // 2) and puts the odd pixel of
// padding before the image; Hugging Face processors with a crop (Dinov2's) use it.
TEST(Preprocess, HuggingFaceCenterCropFloorsAndPadsFirst) {
  for (int w : {225, 227}) {
    cv::Mat img(224, w, CV_8UC3);
    for (int x = 0; x < w; ++x) img.col(x).setTo(cv::Scalar(x, 0, 0));
    const cv::Mat c = center_crop(img, 224, 224, {0, 0, 0}, CropRounding::HuggingFace);
    EXPECT_EQ(c.at<cv::Vec3b>(0, 0)[0], w == 225 ? 0 : 1) << "width " << w;
  }
  cv::Mat small(224, 51, CV_8UC3, cv::Scalar(200, 100, 50));  // 173 columns of padding: 87 before, 86 after
  const cv::Mat hf = center_crop(small, 224, 224, {0, 0, 0}, CropRounding::HuggingFace);
  EXPECT_EQ(hf.at<cv::Vec3b>(5, 86), cv::Vec3b(0, 0, 0));
  EXPECT_EQ(hf.at<cv::Vec3b>(5, 87), cv::Vec3b(200, 100, 50));
  const cv::Mat tv = center_crop(small, 224, 224);  // torchvision: 86 before, 87 after
  EXPECT_EQ(tv.at<cv::Vec3b>(5, 86), cv::Vec3b(200, 100, 50));
  EXPECT_EQ(tv.at<cv::Vec3b>(5, 85), cv::Vec3b(0, 0, 0));
}

TEST(Preprocess, CenterCropPadsSmallImages) {
  cv::Mat img(100, 50, CV_8UC3, cv::Scalar(200, 100, 50));
  const cv::Mat c = center_crop(img, 224, 224);
  ASSERT_EQ(c.size(), cv::Size(224, 224));
  EXPECT_EQ(c.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 0));
  EXPECT_EQ(c.at<cv::Vec3b>(112, 112), cv::Vec3b(200, 100, 50));
  // torchvision pads (224-50)//2 = 87 on the left, 87 on the right.
  EXPECT_EQ(c.at<cv::Vec3b>(112, 86), cv::Vec3b(0, 0, 0));
  EXPECT_EQ(c.at<cv::Vec3b>(112, 87), cv::Vec3b(200, 100, 50));
}

TEST(Preprocess, NormalizeIsPlanarRgb) {
  cv::Mat img(2, 2, CV_8UC3, cv::Scalar(255, 0, 51));  // R=255, G=0, B=51 (our Mats are RGB)
  PreprocessConfig c = preset_config("timm", 2);
  c.resize_short = 0;
  c.crop = 0;
  const auto x = preprocess(img, c);
  ASSERT_EQ(x.size(), 12u);
  EXPECT_FLOAT_EQ(x[0], 1.0f);     // R plane
  EXPECT_FLOAT_EQ(x[4], -1.0f);    // G plane
  EXPECT_NEAR(x[8], -0.6f, 1e-6);  // B plane: (0.2 - 0.5) / 0.5
}

TEST(Decode, ConvertsLikePillow) {
  const std::string dir = vit::test::fixtures() + "/images";
  VIT_REQUIRE_FILE(dir + "/palette.png");
  for (const std::string name : {"palette", "rgba", "gray"}) {
    const auto [mx, mean] =
        pixel_diff(decode_image(dir + "/" + name + ".png"), decode_image(dir + "/" + name + "_expected.png"));
    EXPECT_EQ(mx, 0) << name;
  }
}

TEST(Decode, HonoursExifOrientation) {
  const std::string dir = vit::test::fixtures() + "/images";
  VIT_REQUIRE_FILE(dir + "/exif6.jpg");
  const cv::Mat ours = decode_image(dir + "/exif6.jpg");
  const cv::Mat ref = decode_image(dir + "/exif6_expected.png");  // Pillow's exif_transpose
  ASSERT_EQ(ours.size(), ref.size()) << "orientation 6 swaps width and height";
  const auto [mx, mean] = pixel_diff(ours, ref);
  EXPECT_LE(mean, 0.5) << "same libjpeg, same pixels up to IDCT rounding";
}

TEST(Decode, SixteenBitPng) {
  vit::test::TempDir dir;
  cv::Mat img(4, 4, CV_16UC3, cv::Scalar(65535, 32896, 0));  // BGR as OpenCV writes
  ASSERT_TRUE(cv::imwrite(dir.file("deep.png"), img));
  const cv::Mat rgb = decode_image(dir.file("deep.png"));
  ASSERT_EQ(rgb.type(), CV_8UC3);
  EXPECT_EQ(rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 128, 255));
}

TEST(Decode, BadInputsGetClearErrors) {
  const std::string dir = vit::test::fixtures() + "/images";
  VIT_REQUIRE_FILE(dir + "/truncated.jpg");
  expect_image_error(dir + "/empty.jpg", "is empty (0 bytes)");
  expect_image_error(dir + "/text.jpg", "looks like a text file");
  expect_image_error(dir + "/truncated.jpg", "truncated or corrupt JPEG");
  expect_image_error(dir + "/truncated.png", "cannot decode");
  expect_image_error(dir + "/does-not-exist.png", "No such file or directory");
  expect_image_error(dir, "is a directory");
  EXPECT_NO_THROW(decode_image(dir + "/photo.jpg"));
}
