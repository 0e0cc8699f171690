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
  // As match, without throwing: the class, else kNoSuchClass or kNotOneClass (an index out of
  // range, a name of several classes) with *problem saying so, naming `where`.
  static constexpr int kNoSuchClass = -1, kNotOneClass = -2;
  int find(const std::string& name, const std::string& where, std::string* problem) const;
  // " (did you mean 'Egyptian cat'?)" for a name a few edits from a class name; "" when none is
  // near. A pass over every name of every class: for the first few bad rows, not every row.
  std::string did_you_mean(const std::string& name) const;
  // ": expected a WordNet id (such as n01440764), a class index from 0 to 999, or a label (such
  // as 'tench')": what names a class of this model, for the message after kNoSuchClass.
  std::string expected_names() const;

 private:
  const Labels& labels_;
  std::unordered_map<std::string, int> wnids_;               // the first class of each WordNet id
  std::unordered_map<std::string, std::vector<int>> whole_;  // normalised full label -> classes
  std::unordered_map<std::string, std::vector<int>> part_;   // normalised comma-separated name -> classes
  std::vector<std::string> keys_;     // every normalised name of whole_ and part_, for suggestions
  std::vector<std::string> written_;  // keys_[i] as the label writes it ("Egyptian cat")
};

// ClassMatcher(labels).match(name, where), for one name.
int match_class(const std::string& name, const Labels& labels, const std::string& where);

// Lower case, '_' as ' ', outer spaces trimmed: how label texts are compared.
std::string normalise_label(const std::string& s);

}  // namespace vit
