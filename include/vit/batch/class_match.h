// Class names as a labelled set writes them (a WordNet id, a class index, a label text) to the
// model's classes, looked up in maps built once per model: a list of 100,000 rows labelled by
// name costs a lookup a row, not a pass over every label.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "vit/io/labels.h"

namespace vit {

class ClassMatcher {
 public:
  explicit ClassMatcher(const Labels& labels);

  // A class named by a WordNet id ("n01440764"), a class index ("0") or a label text ("tench",
  // "Egyptian cat", "tiger_cat"; any comma-separated name of the label, any case, '_' as ' ';
  // a whole label wins over a part of another). Throws UsageError naming `where` for a name
  // that matches no class, or several.
  int match(const std::string& name, const std::string& where) const;

 private:
  const Labels& labels_;
  std::unordered_map<std::string, int> wnids_;               // the first class of each WordNet id
  std::unordered_map<std::string, std::vector<int>> whole_;  // normalised full label -> classes
  std::unordered_map<std::string, std::vector<int>> part_;   // normalised comma-separated name -> classes
};

// ClassMatcher(labels).match(name, where), for one name.
int match_class(const std::string& name, const Labels& labels, const std::string& where);

// Lower case, '_' as ' ', outer spaces trimmed: how label texts are compared.
std::string normalise_label(const std::string& s);

}  // namespace vit
