// CLIP's ImageNet zero-shot table (src/text/imagenet_zero_shot.tsv, openai_imagenet_templates.txt)
// against open_clip's zero_shot_metadata.py, written into the build tree as
// imagenet_zero_shot.json by tests/reference/make_tokenizer_fixtures.py; and fill_template.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "vit/errors.h"
#include "vit/io/labels.h"
#include "vit/text/imagenet_prompts.h"

namespace vit::test {
namespace {

using text::fill_template;

// open_clip's table: {"classnames": [1000], "templates": [80, "{}" where the name goes]}.
nlohmann::json open_clip_table() {
  std::ifstream in(fixtures() + "/imagenet_zero_shot.json");
  return nlohmann::json::parse(in);
}

// Every string equal, each difference printed (the first ten).
void expect_same(const std::vector<std::string>& ours, const nlohmann::json& theirs, const char* what) {
  ASSERT_TRUE(theirs.is_array()) << what;
  ASSERT_EQ(ours.size(), theirs.size()) << what;
  int wrong = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    if (ours[i] == theirs[i].get<std::string>()) continue;
    if (++wrong <= 10) ADD_FAILURE() << what << " " << i << ": ours '" << ours[i] << "', open_clip's " << theirs[i];
  }
  EXPECT_EQ(wrong, 0) << what;
}

TEST(ZeroShotTable, ClassNamesAsOpenClip) {
  VIT_REQUIRE_FILE(fixtures() + "/imagenet_zero_shot.json");
  expect_same(text::imagenet_clip_class_names(), open_clip_table()["classnames"], "class");
}

TEST(ZeroShotTable, TemplatesAsOpenClip) {
  VIT_REQUIRE_FILE(fixtures() + "/imagenet_zero_shot.json");
  expect_same(text::openai_imagenet_templates(), open_clip_table()["templates"], "template");
}

// Index i is the same class as vit's built-in label i: the same WordNet id.
TEST(ZeroShotTable, SameOrderAsBuiltInLabels) {
  const auto& wnids = text::imagenet_clip_wnids();
  const auto& labels = Labels::imagenet1k();
  ASSERT_EQ(wnids.size(), 1000u);
  ASSERT_EQ(text::imagenet_clip_class_names().size(), 1000u);
  ASSERT_EQ(labels.size(), 1000u);
  for (size_t i = 0; i < wnids.size(); ++i) EXPECT_EQ(wnids[i], labels.at(i).wnid) << i;
  // Spot checks: OpenAI's names tell apart what WordNet calls "crane" twice.
  EXPECT_EQ(text::imagenet_clip_class_names()[0], "tench");
  EXPECT_EQ(text::imagenet_clip_class_names()[134], "crane bird");
  EXPECT_EQ(text::imagenet_clip_class_names()[517], "construction crane");
  EXPECT_EQ(text::imagenet_clip_class_names()[999], "toilet paper");
}

TEST(ZeroShotTable, EveryTemplateHoldsOnePlaceholder) {
  const auto& templates = text::openai_imagenet_templates();
  ASSERT_EQ(templates.size(), 80u);
  EXPECT_EQ(templates[0], "a bad photo of a {}.");
  EXPECT_EQ(templates[79], "a tattoo of the {}.");
  for (const auto& t : templates) {
    const size_t at = t.find("{}");
    ASSERT_NE(at, std::string::npos) << t;
    EXPECT_EQ(t.find("{}", at + 2), std::string::npos) << t;
  }
}

TEST(ZeroShotTable, FillTemplateReplacesEveryPlaceholder) {
  EXPECT_EQ(fill_template("a photo of a {}.", "tench"), "a photo of a tench.");
  EXPECT_EQ(fill_template("{} and {}, {}", "cat"), "cat and cat, cat");
  EXPECT_EQ(fill_template("{}{}", "ab"), "abab");
  // "{}" alone is the label as written: no case change, nothing trimmed.
  EXPECT_EQ(fill_template("{}", " Great White Shark "), " Great White Shark ");
  EXPECT_EQ(fill_template("{}", ""), "");
  // UTF-8 labels go in byte for byte.
  EXPECT_EQ(fill_template("a photo of a {}.", "crème brûlée"), "a photo of a crème brûlée.");
  EXPECT_EQ(fill_template("{}: {}", "猫 🐱"), "猫 🐱: 猫 🐱");
  // A label holding "{}" is not searched again; other braces are plain text.
  EXPECT_EQ(fill_template("x {} y", "{}"), "x {} y");
  EXPECT_EQ(fill_template("{x} { } {{}}", "L"), "{x} { } {L}");
  EXPECT_EQ(fill_template("}{}{", "L"), "}L{");
}

TEST(ZeroShotTable, TemplateWithoutPlaceholderIsAUsageError) {
  for (const std::string bad : {"a photo of a cat", "", "{ }", "{x}", "}{"}) {
    try {
      fill_template(bad, "cat");
      ADD_FAILURE() << "no error for '" << bad << "'";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("'" + bad + "'"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("{}"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace vit::test
