// Python's HTML5 named character references (html.entities.html5), the table html.unescape
// resolves names with; generated into src/text/html_entities.cpp by scripts/make_html_entities.py.
#pragma once

#include <cstddef>

namespace vit::text {

// One name as written after '&' (ASCII; with its ';' where the table has it) and its text (UTF-8,
// one or two code points).
struct HtmlEntity {
  const char* name;
  const char* value;
};

// Sorted by name in byte order (std::strcmp), for binary search.
extern const HtmlEntity kHtml5Entities[];
extern const size_t kHtml5EntityCount;

}  // namespace vit::text
