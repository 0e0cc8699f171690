// Small text helpers every layer uses, written once: prefix/suffix tests, ASCII case, and the
// edit distance behind "did you mean" suggestions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace vit {

// As C++20's std::string::starts_with / ends_with: an equal string counts ("x" ends with "x"),
// the empty affix always does.
bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);

// A-Z -> a-z (and back), every other byte as it is: no locale, so UTF-8 passes unchanged.
std::string ascii_lower(std::string s);
std::string ascii_upper(std::string s);

// Levenshtein distance (insertions, deletions, substitutions of one byte each).
size_t edit_distance(std::string_view a, std::string_view b);
// The candidate nearest `given` within at most `most_edits` edits (the first on a tie); "" for none.
std::string closest_match(std::string_view given, const std::vector<std::string>& candidates, size_t most_edits);

}  // namespace vit
