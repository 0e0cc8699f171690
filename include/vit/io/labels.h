// Class names: the 1000 ImageNet-1k classes built into the binary, or a user's own list.
#pragma once

#include <string>
#include <vector>

namespace vit {

struct Label {
  std::string wnid;  // WordNet id ("n03028079"); empty for user-supplied labels
  std::string name;  // full name ("church, church building")
};

class Labels {
 public:
  Labels() = default;
  explicit Labels(std::vector<Label> labels) : labels_(std::move(labels)) {}

  // The built-in ImageNet-1k list, index order = sorted WordNet ids.
  static const Labels& imagenet1k();
  // One label per line (blank lines are kept as empty names, a trailing newline is not a line;
  // a line "wnid<TAB>name" is split into both parts). Throws UsageError.
  static Labels from_file(const std::string& path);

  size_t size() const { return labels_.size(); }
  bool empty() const { return labels_.empty(); }
  const Label& at(size_t i) const { return labels_.at(i); }
  // The name of class i, or "class i" when the list is shorter than the model's head.
  std::string name(size_t i) const;

 private:
  std::vector<Label> labels_;
};

}  // namespace vit
