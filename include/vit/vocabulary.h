// The words an enum-valued option accepts, one table per vocabulary: the parsers, the
// command line's checks and its help all read the same table, so a new value is added once.
#pragma once

#include <string>
#include <vector>

#include "vit/errors.h"
#include "vit/io/text.h"

namespace vit {

template <class E>
struct Named {
  const char* name;
  E value;
};

template <class E>
using Vocabulary = std::vector<Named<E>>;

// "a, b or c": the names of a vocabulary for messages and help.
template <class E>
std::string choices(const Vocabulary<E>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i)
    out += (i == 0 ? "" : i + 1 == words.size() ? " or " : ", ") + std::string(words[i].name);
  return out;
}

// The value named s, in any case ("JSON" is "json"). Throws UsageError naming `what` and the choices.
template <class E>
E parse_named(const Vocabulary<E>& words, const std::string& s, const std::string& what) {
  const std::string lower = ascii_lower(s);
  for (const auto& w : words)
    if (lower == w.name) return w.value;
  throw UsageError(what + ": unknown value '" + s + "' (expected " + choices(words) + ")");
}

// The first name of value e ("?" if the table lacks it).
template <class E>
const char* name_of(const Vocabulary<E>& words, E e) {
  for (const auto& w : words)
    if (w.value == e) return w.name;
  return "?";
}

}  // namespace vit
