// Class names to classes; see include/vit/batch/class_match.h.
#include "vit/batch/class_match.h"

#include <algorithm>
#include <cctype>

#include "vit/errors.h"

namespace vit {

namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() < 10 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::string quoted_label(const Labels& labels, int i) {
  return std::to_string(i) + " '" + labels.at(static_cast<size_t>(i)).name + "'";
}

}  // namespace

std::string normalise_label(const std::string& s) {
  std::string r;
  for (unsigned char c : s) r += c == '_' ? ' ' : static_cast<char>(std::tolower(c));
  const auto b = r.find_first_not_of(' '), e = r.find_last_not_of(' ');
  return b == std::string::npos ? "" : r.substr(b, e - b + 1);
}

ClassMatcher::ClassMatcher(const Labels& labels) : labels_(labels) {
  for (size_t i = 0; i < labels.size(); ++i) {
    const Label& l = labels.at(i);
    const int cls = static_cast<int>(i);
    if (!l.wnid.empty()) wnids_.emplace(l.wnid, cls);
    whole_[normalise_label(l.name)].push_back(cls);
    std::vector<std::string> seen;  // each class once per name, as "tank suit, tank suit" has it twice
    for (size_t begin = 0; begin <= l.name.size();) {
      size_t comma = l.name.find(',', begin);
      if (comma == std::string::npos) comma = l.name.size();
      const std::string part = normalise_label(l.name.substr(begin, comma - begin));
      if (std::find(seen.begin(), seen.end(), part) == seen.end()) {
        part_[part].push_back(cls);
        seen.push_back(part);
      }
      begin = comma + 1;
    }
  }
}

int ClassMatcher::match(const std::string& name, const std::string& where) const {
  const Labels& labels = labels_;
  if (all_digits(name)) {
    const long i = std::stol(name);
    if (i < static_cast<long>(labels.size())) return static_cast<int>(i);
    throw UsageError(where + ": class index " + name + " is out of range: the model has " +
                     std::to_string(labels.size()) + " classes (0 to " + std::to_string(labels.size() - 1) + ")");
  }
  if (const auto w = wnids_.find(name); w != wnids_.end()) return w->second;
  const std::string key = normalise_label(name);
  static const std::vector<int> none;
  const auto whole = whole_.find(key);
  const auto part = part_.find(key);
  const std::vector<int>& named = whole != whole_.end() ? whole->second : part != part_.end() ? part->second : none;
  if (named.size() == 1) return named.front();
  if (named.size() > 1) {
    std::string which;
    for (int i : named) which += (which.empty() ? "" : ", ") + quoted_label(labels, i);
    throw UsageError(where + ": '" + clipped(name) + "' names several classes (" + which +
                     "): use the class index or WordNet id instead");
  }
  throw UsageError(where + ": '" + clipped(name) + "' names no class of the model: expected a WordNet id (such as " +
                   (labels.size() && !labels.at(0).wnid.empty() ? labels.at(0).wnid : std::string("n01440764")) +
                   "), a class index from 0 to " + std::to_string(labels.size() - 1) + ", or a label (such as '" +
                   (labels.size() ? labels.at(0).name : std::string("tench")) + "')");
}

int match_class(const std::string& name, const Labels& labels, const std::string& where) {
  return ClassMatcher(labels).match(name, where);
}

}  // namespace vit
