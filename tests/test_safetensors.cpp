// The safetensors reader: a valid file reads back; each check of the reference reader
// (REFERENCE.md, huggingface/safetensors tensor.rs) rejects a file written wrong on purpose.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "test_util.h"
#include "vit/errors.h"
#include "vit/io/safetensors.h"

using namespace vit;
using vit::test::TempDir;

namespace {

std::string u64le(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return s;
}

std::string file_with(const std::string& header, const std::string& data) {
  return u64le(header.size()) + header + data;
}

// Expects opening bytes as a safetensors file to fail with a message containing `needle`.
void expect_rejected(const std::string& bytes, const std::string& needle) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  vit::test::write_bytes(path, bytes);
  try {
    SafetensorsFile f(path);
    ADD_FAILURE() << "accepted a bad file; expected an error containing '" << needle << "'";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "message was: " << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << "the message should name the file";
  }
}

const std::string kTwoFloats(8, '\x01');

}  // namespace

TEST(Safetensors, ReadsValidFileWithMetadata) {
  TempDir dir;
  const std::string path = dir.file("ok.safetensors");
  float a[2] = {1.5f, -2.0f};
  uint16_t h = 0x3C00;  // 1.0 in F16
  std::string data(reinterpret_cast<char*>(a), 8);
  data += std::string(reinterpret_cast<char*>(&h), 2);
  const std::string header = R"({"__metadata__":{"format":"pt"},"b":{"dtype":"F16","shape":[1],"data_offsets":[8,10]},)"
                             R"("a":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]}})";
  vit::test::write_bytes(path, file_with(header, data));
  SafetensorsFile f(path);
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.tensors()[0].name, "a");  // sorted by offset
  EXPECT_EQ(f.tensors()[0].shape, (std::vector<int64_t>{2, 1}));
  float back[2];
  std::memcpy(back, f.find("a")->data, 8);
  EXPECT_EQ(back[0], 1.5f);
  EXPECT_EQ(back[1], -2.0f);
  EXPECT_EQ(f.find("b")->dtype, DType::F16);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.find("missing"), nullptr);
}

TEST(Safetensors, AcceptsEmptyTensorAndPaddedHeader) {
  const std::string header = R"({"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]}})" + std::string(5, ' ');
  TempDir dir;
  vit::test::write_bytes(dir.file("e.safetensors"), file_with(header, ""));
  SafetensorsFile f(dir.file("e.safetensors"));
  EXPECT_EQ(f.find("e")->nbytes, 0u);
}

TEST(Safetensors, RejectsMissingEmptyAndDirectory) {
  TempDir dir;
  EXPECT_THROW(SafetensorsFile(dir.file("nope.safetensors")), ModelError);
  vit::test::write_bytes(dir.file("zero.safetensors"), "");
  try {
    SafetensorsFile f(dir.file("zero.safetensors"));
    ADD_FAILURE();
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos) << e.what();
  }
  try {
    SafetensorsFile f(dir.path());
    ADD_FAILURE();
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("directory"), std::string::npos) << e.what();
  }
}

TEST(Safetensors, Check1_ShorterThanHeaderLength) { expect_rejected("abc", "shorter than the 8-byte header length"); }

TEST(Safetensors, Check2_HeaderTooLarge) { expect_rejected(u64le(100000001) + "{}", "over the 100000000-byte limit"); }

TEST(Safetensors, Check2_HeaderLengthOverflow) { expect_rejected(u64le(~uint64_t{0}) + "{}", "over the"); }

TEST(Safetensors, Check3_HeaderPastEndOfFile) {
  expect_rejected(u64le(900) + std::string(504, ' '),
                  "the JSON header is 900 bytes long but the file is only 512 bytes");
}

TEST(Safetensors, Check4_NotJson) { expect_rejected(file_with("{not json", ""), "not valid UTF-8 JSON"); }

TEST(Safetensors, Check4_NotUtf8) {
  expect_rejected(file_with("{\"a\xff\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", kTwoFloats),
                  "not valid UTF-8 JSON");
}

TEST(Safetensors, Check4_NotAnObject) { expect_rejected(file_with("[1,2]", ""), "does not start with '{'"); }

TEST(Safetensors, Check4_UnknownDtype) {
  expect_rejected(file_with(R"({"a":{"dtype":"F7","shape":[2],"data_offsets":[0,8]}})", kTwoFloats),
                  "unknown dtype 'F7'");
}

TEST(Safetensors, Check4_MissingField) {
  expect_rejected(file_with(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", kTwoFloats),
                  "dtype, shape and data_offsets");
}

TEST(Safetensors, Check5_GapAtStart) {
  expect_rejected(file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", kTwoFloats),
                  "do not continue the buffer at byte 0");
}

TEST(Safetensors, Check5_Overlap) {
  expect_rejected(file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                            R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                            kTwoFloats),
                  "do not continue the buffer at byte 8");
}

TEST(Safetensors, Check5_EndBeforeBegin) {
  expect_rejected(file_with(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
                            R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})",
                            kTwoFloats),
                  "tensor 'b'");
}

TEST(Safetensors, Check6_SizeMismatch) {
  expect_rejected(file_with(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", kTwoFloats),
                  "span 8 bytes but dtype F32 and its shape need 12");
}

TEST(Safetensors, Check6_ElementCountOverflow) {
  expect_rejected(
      file_with(R"({"a":{"dtype":"F32","shape":[4611686018427387904,16],"data_offsets":[0,8]}})", kTwoFloats),
      "overflows");
}

TEST(Safetensors, Check7_TrailingBytes) {
  expect_rejected(file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", kTwoFloats + "xx"),
                  "trailing bytes");
}

TEST(Safetensors, Check7_TruncatedBuffer) {
  expect_rejected(file_with(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", kTwoFloats),
                  "truncated download");
}

TEST(Safetensors, DuplicateNames) {
  expect_rejected(file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                            R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                            kTwoFloats),
                  "names tensor 'a' more than once");
}

TEST(Safetensors, NegativeShape) {
  expect_rejected(file_with(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", kTwoFloats),
                  "non-negative integer");
}

TEST(Safetensors, MetadataMustBeStrings) {
  expect_rejected(file_with(R"({"__metadata__":{"n":1}})", ""), "not a string");
}
