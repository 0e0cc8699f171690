// CLIP's tokenizer (src/text/) against open_clip's SimpleTokenizer: its ids for labels in many
// scripts (tests/reference/tokenizer_labels.jsonl, committed) and for a few thousand seeded random
// strings (written into the build tree by tests/reference/make_tokenizer_fixtures.py); its files'
// errors; Python's html.unescape rules.
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "test_util.h"
#include "vit/errors.h"
#include "vit/text/text_clean.h"
#include "vit/text/tokenizer.h"

namespace vit::test {
namespace {

using text::ClipTokenizer;

std::string open_clip_merges() { return shared() + "/reference/open_clip/bpe_simple_vocab_16e6.txt.gz"; }

#define REQUIRE_MERGES() VIT_REQUIRE_FILE(open_clip_merges())

const ClipTokenizer& tokenizer() {
  static const ClipTokenizer t = ClipTokenizer::from_file(open_clip_merges());
  return t;
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> records;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) records.push_back(nlohmann::json::parse(line));
  return records;
}

// open_clip's 77-token row for a record: "tokens" where it was cut, else start, ids, end.
std::vector<int32_t> expected_row(const nlohmann::json& r) {
  std::vector<int32_t> row;
  if (r.contains("tokens")) {
    row = r["tokens"].get<std::vector<int32_t>>();
  } else {
    row.push_back(49406);
    for (const auto& id : r["ids"]) row.push_back(id.get<int32_t>());
    row.push_back(49407);
  }
  row.resize(77, 0);
  return row;
}

// How many records `t` gets wrong (each one printed); `skip` names texts not to check.
int mismatches(const ClipTokenizer& t, const std::vector<nlohmann::json>& records,
               const std::set<std::string>& skip = {}) {
  int wrong = 0;
  for (const auto& r : records) {
    const auto text = r["text"].get<std::string>();
    if (skip.count(text)) continue;
    const auto ids = r["ids"].get<std::vector<int32_t>>();
    const auto got = t.encode(text);
    const auto row = t.tokenize(text);
    if (got != ids || row != expected_row(r)) {
      if (++wrong <= 10) {
        ADD_FAILURE() << r["kind"] << " '" << text << "': got " << nlohmann::json(got).dump() << ", open_clip "
                      << nlohmann::json(ids).dump() << (row != expected_row(r) ? " (77-token rows differ)" : "");
      }
    }
  }
  return wrong;
}

TEST(Tokenizer, KnownIdsAndSpecialTokens) {
  REQUIRE_MERGES();
  const auto& t = tokenizer();
  EXPECT_EQ(t.sot(), 49406);
  EXPECT_EQ(t.eot(), 49407);
  EXPECT_EQ(t.vocabulary_size(), 49408u);
  // CLIP's ids for this prompt, as open_clip and Hugging Face's CLIPTokenizer both give them.
  EXPECT_EQ(t.encode("a photo of a cat"), (std::vector<int32_t>{320, 1125, 539, 320, 2368}));
  const auto row = t.tokenize("A  Photo of a CAT ");
  ASSERT_EQ(row.size(), 77u);
  EXPECT_EQ(std::vector<int32_t>(row.begin(), row.begin() + 8),
            (std::vector<int32_t>{49406, 320, 1125, 539, 320, 2368, 49407, 0}));
  EXPECT_TRUE(t.encode("").empty());
  EXPECT_EQ(t.encode("<start_of_text>"), std::vector<int32_t>{49406});
}

TEST(Tokenizer, LabelsInManyScriptsAsOpenClip) {
  REQUIRE_MERGES();
  const auto records = read_jsonl(std::string(VIT_SOURCE_DIR) + "/tests/reference/tokenizer_labels.jsonl");
  ASSERT_GE(records.size(), 90u);
  // ftfy.fix_text, which open_clip runs first and this tokenizer does not, changes these: half-width
  // katakana to full-width, a curly apostrophe to ', the ligature ﬁ to fi.
  const std::set<std::string> ftfy_repairs = {"ｶﾀｶﾅ", "dog’s bed", "ﬁsh"};
  EXPECT_EQ(mismatches(tokenizer(), records, ftfy_repairs), 0);
  for (const auto& r : records) {
    if (ftfy_repairs.count(r["text"])) {
      EXPECT_TRUE(r["ftfy"].get<bool>()) << r["text"];
      EXPECT_NE(tokenizer().encode(r["text"].get<std::string>()), r["ids"].get<std::vector<int32_t>>()) << r["text"];
    }
  }
}

TEST(Tokenizer, GeneratedStringsAsOpenClip) {
  REQUIRE_MERGES();
  const std::string path = fixtures() + "/tokenizer_random.jsonl";
  VIT_REQUIRE_FILE(path);
  const auto records = read_jsonl(path);
  size_t random = 0, long_ones = 0;
  for (const auto& r : records) {
    random += r["kind"] == "random";
    long_ones += r.contains("tokens");
  }
  EXPECT_GE(random, 3000u);
  EXPECT_GE(long_ones, 20u);
  EXPECT_EQ(mismatches(tokenizer(), records), 0) << "of " << records.size();
}

TEST(Tokenizer, HuggingFaceFilesGiveTheSameIds) {
  REQUIRE_MERGES();
  const std::string hf = fixtures() + "/tokenizer_hf";
  VIT_REQUIRE_FILE(hf + "/vocab.json");
  const auto t = ClipTokenizer::from_hugging_face(hf + "/vocab.json", hf + "/merges.txt");
  EXPECT_EQ(t.sot(), 49406);
  EXPECT_EQ(t.eot(), 49407);
  EXPECT_EQ(t.vocabulary_size(), 49408u);
  auto records = read_jsonl(std::string(VIT_SOURCE_DIR) + "/tests/reference/tokenizer_labels.jsonl");
  for (auto& r : read_jsonl(fixtures() + "/tokenizer_random.jsonl")) records.push_back(std::move(r));
  int differ = 0;
  for (const auto& r : records)
    differ += t.tokenize(r["text"].get<std::string>()) != tokenizer().tokenize(r["text"].get<std::string>());
  EXPECT_EQ(differ, 0) << "of " << records.size();
}

TEST(Tokenizer, TruncatesToTheContextWithEndTokenLast) {
  REQUIRE_MERGES();
  const auto& t = tokenizer();
  std::string text;
  for (int i = 0; i < 100; ++i) text += "cat ";
  const auto row = t.tokenize(text);
  ASSERT_EQ(row.size(), 77u);
  EXPECT_EQ(row.front(), 49406);
  EXPECT_EQ(row[75], 2368);
  EXPECT_EQ(row.back(), 49407);
  EXPECT_EQ(t.tokenize(text, 4), (std::vector<int32_t>{49406, 2368, 2368, 49407}));
  EXPECT_EQ(t.tokenize("cat", 1), std::vector<int32_t>{49407});  // open_clip: [sot][:1], last = eot
  EXPECT_EQ(t.tokenize("cat", 3), (std::vector<int32_t>{49406, 2368, 49407}));
  EXPECT_THROW(t.tokenize("cat", 0), UsageError);
  EXPECT_THROW(t.tokenize("cat", size_t{1} << 40), UsageError);
}

TEST(Tokenizer, TextErrorsAreUsageErrors) {
  REQUIRE_MERGES();
  try {
    tokenizer().encode("caf\xe9 au lait");  // Latin-1
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("byte 3"), std::string::npos) << e.what();
  }
  for (const char* bad : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\x80"})
    EXPECT_THROW(tokenizer().encode(bad), UsageError) << bad;
  EXPECT_THROW(tokenizer().encode(std::string(text::kMaxTextBytes + 1, 'a')), UsageError);
  EXPECT_FALSE(tokenizer().encode(std::string(text::kMaxTextBytes, 'a')).empty());  // the longest accepted
}

TEST(Tokenizer, SharedAcrossThreads) {
  REQUIRE_MERGES();
  const auto records = read_jsonl(std::string(VIT_SOURCE_DIR) + "/tests/reference/tokenizer_labels.jsonl");
  const auto t = ClipTokenizer::from_file(open_clip_merges());  // a fresh cache, filled by four threads at once
  std::vector<int> wrong(4, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (const auto& r : records)
        wrong[k] += t.encode(r["text"].get<std::string>()) != tokenizer().encode(r["text"].get<std::string>());
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
}

// Python's html.unescape on these (Python 3.11).
TEST(Tokenizer, HtmlUnescapeAsPython) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"&notanentity;", "\u00acanentity;"},
      {"&#x80;", "\u20ac"},
      {"&#150;", "\u2013"},
      {"&#1;", ""},
      {"&#0;", "\ufffd"},
      {"&ampfoo", "&foo"},
      {"&#x;", "&#x;"},
      {"&#;", "&#;"},
      {"&amp;amp;", "&amp;"},
      {"&#X41;&#65", "AA"},
      {"&NotEqualTilde;", "\u2242\u0338"},
      {"&lt\u00e9", "<\u00e9"},
      {"&copy2024", "\u00a92024"},
      {"&#xD800;", "\ufffd"},
      {"&#x110000;", "\ufffd"},
      {"&#13;", "\r"},
      {"&#x81;", "\u0081"},
      {"&#12;", "\f"},
      {"&" + std::string(40, 'a') + ";", "&" + std::string(40, 'a') + ";"},
      {"&#99999999999999999999;", "\ufffd"}};
  for (const auto& [in, out] : cases)
    EXPECT_EQ(text::encode_utf8(text::html_unescape(text::decode_utf8(in))), out) << in;
}

TEST(TokenizerFiles, ErrorsNameTheFileAndTheFault) {
  REQUIRE_MERGES();
  TempDir dir;
  auto expect_model_error = [](const std::function<void()>& f, const std::string& part1, const std::string& part2) {
    try {
      f();
      ADD_FAILURE() << "no error; wanted one with '" << part1 << "'";
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(part1), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(part2), std::string::npos) << e.what();
    }
  };
  const std::string missing = dir.file("missing.txt.gz");
  expect_model_error([&] { ClipTokenizer::from_file(missing); }, missing, "no such file");
  const std::string gz = read_bytes(open_clip_merges());
  write_bytes(dir.file("cut.gz"), gz.substr(0, gz.size() / 2));
  expect_model_error([&] { ClipTokenizer::from_file(dir.file("cut.gz")); }, "cut.gz", "broken gzip data");
  write_bytes(dir.file("short.txt"), "#version: 0.2\ni n\nt h\n");
  expect_model_error([&] { ClipTokenizer::from_file(dir.file("short.txt")); }, "short.txt", "3 lines");
  std::string lines = "#version\n";
  for (int i = 0; i < 48894; ++i) lines += i == 7 ? "a b c\n" : "i n\n";
  write_bytes(dir.file("three.txt"), lines);
  expect_model_error([&] { ClipTokenizer::from_file(dir.file("three.txt")); }, "line 9", "'a b c'");
  write_bytes(dir.file("vocab.json"), "{\"a\": 1,");
  write_bytes(dir.file("merges.txt"), "#version: 0.2\na b\n");
  expect_model_error([&] { ClipTokenizer::from_hugging_face(dir.file("vocab.json"), dir.file("merges.txt")); },
                     "vocab.json", "not valid JSON");
  write_bytes(dir.file("vocab.json"), "{\"a\": -1}");
  expect_model_error([&] { ClipTokenizer::from_hugging_face(dir.file("vocab.json"), dir.file("merges.txt")); },
                     "vocab.json", "has id -1");
  write_bytes(dir.file("vocab.json"), "{\"a\": 1}");
  expect_model_error([&] { ClipTokenizer::from_hugging_face(dir.file("vocab.json"), dir.file("merges.txt")); },
                     "vocab.json", "no token <|startoftext|>");
}

// The merges file unpacked reads as the gzipped one; a file that unpacks past the limit is refused.
TEST(TokenizerFiles, PlainTextAndUnpackLimit) {
  REQUIRE_MERGES();
  TempDir dir;
  std::string plain;
  {
    gzFile in = gzopen(open_clip_merges().c_str(), "rb");
    ASSERT_NE(in, nullptr);
    char buf[1 << 16];
    for (int n; (n = gzread(in, buf, sizeof buf)) > 0;) plain.append(buf, static_cast<size_t>(n));
    gzclose(in);
  }
  write_bytes(dir.file("merges.txt"), plain);
  const auto t = ClipTokenizer::from_file(dir.file("merges.txt"));
  for (const char* text : {"a photo of a cat", "Ἀθῆναι 東京 👩‍👩‍👧‍👦 it's"})
    EXPECT_EQ(t.tokenize(text), tokenizer().tokenize(text)) << text;

  // 64 MiB and one byte of zeros, gzipped to about 64 KB: past kMaxTokenizerFileBytes once unpacked.
  gzFile out = gzopen(dir.file("bomb.gz").c_str(), "wb1");
  ASSERT_NE(out, nullptr);
  const std::string zeros(1 << 20, '\0');
  for (size_t i = 0; i < text::kMaxTokenizerFileBytes / zeros.size(); ++i)
    gzwrite(out, zeros.data(), static_cast<unsigned>(zeros.size()));
  gzwrite(out, zeros.data(), 1);
  gzclose(out);
  try {
    ClipTokenizer::from_file(dir.file("bomb.gz"));
    FAIL() << "no error";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("unpacks to over 67108864 bytes"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace vit::test
