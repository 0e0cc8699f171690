// The built-in ImageNet-1k labels, and user label files.
#include <gtest/gtest.h>

#include <fstream>

#include "test_util.h"
#include "vit/errors.h"
#include "vit/io/labels.h"

using namespace vit;

TEST(Labels, BuiltInImageNet) {
  const Labels& l = Labels::imagenet1k();
  ASSERT_EQ(l.size(), 1000u);
  EXPECT_EQ(l.at(0).wnid, "n01440764");
  EXPECT_EQ(l.at(0).name, "tench, Tinca tinca");
  EXPECT_EQ(l.at(497).wnid, "n03028079");
  EXPECT_EQ(l.at(497).name, "church, church building");
  EXPECT_EQ(l.at(999).name, "toilet tissue, toilet paper, bathroom tissue");
  for (size_t i = 1; i < l.size(); ++i) EXPECT_LT(l.at(i - 1).wnid, l.at(i).wnid) << "index order is sorted wnids";
  EXPECT_EQ(l.name(1000), "class 1000");
}

TEST(Labels, MatchesSharedList) {
  const std::string path = vit::test::shared() + "/labels/imagenet1k.tsv";
  VIT_REQUIRE_FILE(path);
  std::ifstream in(path);
  std::string line;
  size_t i = 0;
  while (std::getline(in, line)) {
    ASSERT_LT(i, 1000u);
    const auto tab = line.find('\t');
    EXPECT_EQ(Labels::imagenet1k().at(i).wnid, line.substr(0, tab)) << "line " << i + 1;
    EXPECT_EQ(Labels::imagenet1k().at(i).name, line.substr(tab + 1)) << "line " << i + 1;
    ++i;
  }
  EXPECT_EQ(i, 1000u);
}

TEST(Labels, FromFile) {
  vit::test::TempDir dir;
  vit::test::write_bytes(dir.file("l.txt"), "cat\r\ndog\n\nn123\tbird\n");
  Labels l = Labels::from_file(dir.file("l.txt"));
  ASSERT_EQ(l.size(), 4u);
  EXPECT_EQ(l.name(0), "cat");
  EXPECT_EQ(l.name(2), "");
  EXPECT_EQ(l.at(3).wnid, "n123");
  EXPECT_EQ(l.name(3), "bird");
  vit::test::write_bytes(dir.file("empty.txt"), "");
  EXPECT_THROW(Labels::from_file(dir.file("empty.txt")), UsageError);
  EXPECT_THROW(Labels::from_file(dir.file("missing.txt")), UsageError);
}
