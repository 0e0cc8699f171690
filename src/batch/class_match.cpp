// Class names to classes; see include/vit/batch/class_match.h.
#include "vit/batch/class_match.h"

#include <algorithm>
#include <cctype>

#include "vit/errors.h"
#include "vit/io/text.h"

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
  std::string r = ascii_lower(s);
  std::replace(r.begin(), r.end(), '_', ' ');
  const auto b = r.find_first_not_of(' '), e = r.find_last_not_of(' ');
  return b == std::string::npos ? "" : r.substr(b, e - b + 1);
}

ClassMatcher::ClassMatcher(const Labels& labels) : labels_(labels) {
  const auto add_key = [this](const std::string& key, const std::string& written) {
    if (whole_.count(key) + part_.count(key) > 0) return;  // called before the key is added: once per key
    keys_.push_back(key);
    written_.push_back(written);
  };
  for (size_t i = 0; i < labels.size(); ++i) {
    const Label& l = labels.at(i);
    const int cls = static_cast<int>(i);
    if (!l.wnid.empty()) wnids_.emplace(l.wnid, cls);
    add_key(normalise_label(l.name), l.name);
    whole_[normalise_label(l.name)].push_back(cls);
    std::vector<std::string> seen;  // each class once per name, as "tank suit, tank suit" has it twice
    for (size_t begin = 0; begin <= l.name.size();) {
      size_t comma = l.name.find(',', begin);
      if (comma == std::string::npos) comma = l.name.size();
      const std::string written = l.name.substr(begin, comma - begin);
      const std::string part = normalise_label(written);
      if (std::find(seen.begin(), seen.end(), part) == seen.end()) {
        add_key(part, written.substr(std::min(written.find_first_not_of(' '), written.size())));
        part_[part].push_back(cls);
        seen.push_back(part);
      }
      begin = comma + 1;
    }
  }
}

int ClassMatcher::find(const std::string& name, const std::string& where, std::string* problem) const {
  const Labels& labels = labels_;
  if (all_digits(name)) {
    const long i = std::stol(name);
    if (i < static_cast<long>(labels.size())) return static_cast<int>(i);
    *problem = where + ": class index " + name + " is out of range: the model has " + std::to_string(labels.size()) +
               " classes (0 to " + std::to_string(labels.size() - 1) + ")";
    return kNotOneClass;
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
    *problem = where + ": '" + clipped(name) + "' names several classes (" + which +
               "): use the class index or WordNet id instead";
    return kNotOneClass;
  }
  *problem = where + ": '" + clipped(name) + "' names no class of the model";
  return kNoSuchClass;
}

std::string ClassMatcher::did_you_mean(const std::string& name) const {
  const std::string key = normalise_label(name);
  // A typo is a few edits away: at most 2, or a quarter of the name's length.
  const std::string near = closest_match(key, keys_, std::max<size_t>(2, key.size() / 4));
  if (near.empty()) return "";
  const size_t k = static_cast<size_t>(std::find(keys_.begin(), keys_.end(), near) - keys_.begin());
  return " (did you mean '" + written_[k] + "'?)";
}

std::string ClassMatcher::expected_names() const {
  const Labels& labels = labels_;
  return ": expected a WordNet id (such as " +
         (labels.size() && !labels.at(0).wnid.empty() ? labels.at(0).wnid : std::string("n01440764")) +
         "), a class index from 0 to " + std::to_string(labels.size() - 1) + ", or a label (such as '" +
         (labels.size() ? labels.at(0).name : std::string("tench")) + "')";
}

int ClassMatcher::match(const std::string& name, const std::string& where) const {
  std::string problem;
  const int cls = find(name, where, &problem);
  if (cls >= 0) return cls;
  throw UsageError(problem + (cls == kNoSuchClass ? did_you_mean(name) + expected_names() : ""));
}

int match_class(const std::string& name, const Labels& labels, const std::string& where) {
  return ClassMatcher(labels).match(name, where);
}

}  // namespace vit
