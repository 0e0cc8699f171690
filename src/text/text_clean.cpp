// CLIP's text preparation, equal to open_clip's SimpleTokenizer (basic_clean without ftfy,
// whitespace_clean, lower, and its regex split); Unicode facts come from ICU.
#include "vit/text/text_clean.h"

#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <cstring>

#include "vit/errors.h"
#include "vit/text/html_entities.h"

namespace vit::text {

std::u32string decode_utf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  auto fail = [&](const char* what) {
    throw UsageError("text is not valid UTF-8: " + std::string(what) + " at byte " + std::to_string(i) + " of " +
                     std::to_string(text.size()) +
                     " (likely cause: a file or argument in another encoding, such as "
                     "Latin-1 or UTF-16; save it as UTF-8)");
  };
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    size_t n = 0;               // the character's length in bytes
    char32_t c = 0, least = 0;  // its value so far, and the smallest value that length may encode
    if ((b & 0xE0) == 0xC0) {
      n = 2, c = b & 0x1F, least = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      n = 3, c = b & 0x0F, least = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      n = 4, c = b & 0x07, least = 0x10000;
    } else {
      fail(b < 0xC0 ? "a continuation byte with no lead byte" : "a byte that never occurs in UTF-8");
    }
    if (i + n > text.size()) fail("a character cut short");
    for (size_t k = 1; k < n; ++k) {
      const auto cb = static_cast<unsigned char>(text[i + k]);
      if ((cb & 0xC0) != 0x80) fail("a lead byte without its continuation bytes");
      c = (c << 6) | (cb & 0x3F);
    }
    if (c < least) fail("an overlong encoding");
    if (c > 0x10FFFF) fail("a code point past U+10FFFF");
    if (c >= 0xD800 && c <= 0xDFFF) fail("an encoded surrogate");
    out.push_back(c);
    i += n;
  }
  return out;
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char32_t c : text) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

bool is_space(char32_t c) {
  const auto ch = static_cast<UChar32>(c);
  if (u_charType(ch) == U_SPACE_SEPARATOR) return true;
  const auto dir = u_charDirection(ch);
  return dir == U_WHITE_SPACE_NEUTRAL || dir == U_BLOCK_SEPARATOR || dir == U_SEGMENT_SEPARATOR;
}

namespace {

bool ascii_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool ascii_hex(char32_t c) { return ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// What a numeric reference's number stands for (html/__init__.py's _replace_charref); `num`
// saturates past 0x110000, which Python maps like any number past U+10FFFF.
std::u32string numeric_reference(uint32_t num) {
  // windows-1252's characters for 0x80-0x9F (0 for the five it leaves undefined: kept as is).
  static const char16_t kCp1252[32] = {0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
                                       0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
                                       0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                       0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};
  if (num == 0) return U"\uFFFD";
  if (num == 0x0D) return U"\r";
  if (num >= 0x80 && num <= 0x9F) return std::u32string(1, kCp1252[num - 0x80] ? kCp1252[num - 0x80] : num);
  if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) return U"\uFFFD";
  // Python's _invalid_codepoints: C0 controls but tab, LF, FF, CR; DEL; U+FDD0-FDEF; U+xFFFE/F.
  const bool invalid = (num >= 0x01 && num <= 0x08) || num == 0x0B || (num >= 0x0E && num <= 0x1F) || num == 0x7F ||
                       (num >= 0xFDD0 && num <= 0xFDEF) || (num & 0xFFFE) == 0xFFFE;
  if (invalid) return U"";
  return std::u32string(1, static_cast<char32_t>(num));
}

const HtmlEntity* find_entity(const std::string& name) {
  const auto* end = kHtml5Entities + kHtml5EntityCount;
  const auto* it = std::lower_bound(kHtml5Entities, end, name, [](const HtmlEntity& e, const std::string& n) {
    return std::strcmp(e.name, n.c_str()) < 0;
  });
  return it != end && name == it->name ? it : nullptr;
}

// One named reference (Python's regex alternative [^\t\n\f <&#;]{1,32};? matched `s`): its
// text, else the longest known prefix of at least 2 characters and the rest, else '&' + s.
std::u32string named_reference(std::u32string_view s) {
  // Names are ASCII: a prefix with any other character is in no table.
  auto lookup = [&](size_t x) -> const HtmlEntity* {
    const std::u32string_view prefix = s.substr(0, x);
    if (std::any_of(prefix.begin(), prefix.end(), [](char32_t c) { return c >= 0x80; })) return nullptr;
    return find_entity(std::string(prefix.begin(), prefix.end()));
  };
  if (const auto* e = lookup(s.size())) return decode_utf8(e->value);
  for (size_t x = s.size() - 1; x >= 2; --x) {
    if (const auto* e = lookup(x)) return decode_utf8(e->value) + std::u32string(s.substr(x));
  }
  return U"&" + std::u32string(s);
}

}  // namespace

std::u32string html_unescape(std::u32string_view text) {
  if (text.find(U'&') == std::u32string_view::npos) return std::u32string(text);
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != U'&') {
      out.push_back(text[i++]);
      continue;
    }
    const size_t start = i + 1;
    size_t j = start;
    if (j < text.size() && text[j] == U'#') {
      // &#[0-9]+;?  or  &#[xX][0-9a-fA-F]+;?  (a bare "&#" matches neither, nor the named form)
      const bool hex = j + 1 < text.size() && (text[j + 1] == U'x' || text[j + 1] == U'X');
      size_t k = j + (hex ? 2 : 1);
      const size_t digits = k;
      uint32_t num = 0;
      while (k < text.size() && (hex ? ascii_hex(text[k]) : ascii_digit(text[k]))) {
        const char32_t c = text[k];
        const uint32_t d = ascii_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
        num = std::min<uint64_t>(uint64_t{num} * (hex ? 16 : 10) + d, 0x110000);
        ++k;
      }
      if (k == digits) {  // no digits: the '&' stays, and so does what follows
        out.push_back(text[i++]);
        continue;
      }
      if (k < text.size() && text[k] == U';') ++k;
      out += numeric_reference(num);
      i = k;
      continue;
    }
    auto name_char = [](char32_t c) {
      return c != U'\t' && c != U'\n' && c != U'\f' && c != U' ' && c != U'<' && c != U'&' && c != U'#' && c != U';';
    };
    while (j < text.size() && j - start < 32 && name_char(text[j])) ++j;
    if (j == start) {
      out.push_back(text[i++]);
      continue;
    }
    if (j < text.size() && text[j] == U';') ++j;
    out += named_reference(text.substr(start, j - start));
    i = j;
  }
  return out;
}

std::u32string clean_lower(std::u32string_view text) {
  const std::u32string unescaped = html_unescape(html_unescape(text));
  // " ".join(text.split()): whitespace runs become one space, none at either end.
  std::u32string joined;
  joined.reserve(unescaped.size());
  bool pending = false;
  for (const char32_t c : unescaped) {
    if (is_space(c)) {
      pending = !joined.empty();
      continue;
    }
    if (pending) joined.push_back(U' ');
    pending = false;
    joined.push_back(c);
  }
  icu::UnicodeString u = icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(joined.data()),
                                                       static_cast<int32_t>(joined.size()));
  u.toLower(icu::Locale::getRoot());
  std::u32string lowered(static_cast<size_t>(u.countChar32()), U'\0');
  UErrorCode status = U_ZERO_ERROR;
  u.toUTF32(reinterpret_cast<UChar32*>(lowered.data()), static_cast<int32_t>(lowered.size()), status);
  return lowered;
}

namespace {

// The regex's classes under IGNORECASE: [\p{L}] and [\p{N}] take a character by its own
// category, while [^\s\p{L}\p{N}] refuses one that has a letter or number among its case
// variants too. U+0345 (combining ypogegrammeni, Mn; upper case Greek iota) is in neither, so
// open_clip drops it like whitespace (checked over every code point against Python's regex).
bool is_letter(char32_t c) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_L_MASK) != 0; }
bool is_number(char32_t c) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_N_MASK) != 0; }
bool is_other(char32_t c) {
  if (is_space(c) || is_letter(c) || is_number(c)) return false;
  const auto ch = static_cast<UChar32>(c);
  for (const UChar32 v : {u_foldCase(ch, U_FOLD_CASE_DEFAULT), u_toupper(ch), u_tolower(ch), u_totitle(ch)}) {
    if (is_letter(static_cast<char32_t>(v)) || is_number(static_cast<char32_t>(v))) return false;
  }
  return true;
}

// Whether `text` at `pos` matches the lowercase ASCII literal `lit` under IGNORECASE (a character
// matches a letter when its simple case folding is that letter: 'S', and U+017F long s for 's').
bool matches_at(std::u32string_view text, size_t pos, std::u32string_view lit) {
  if (pos + lit.size() > text.size()) return false;
  for (size_t k = 0; k < lit.size(); ++k) {
    const char32_t c = text[pos + k];
    if (c != lit[k] && static_cast<char32_t>(u_foldCase(static_cast<UChar32>(c), U_FOLD_CASE_DEFAULT)) != lit[k])
      return false;
  }
  return true;
}

}  // namespace

std::vector<std::u32string> pre_tokenize(std::u32string_view text) {
  static constexpr std::u32string_view kFixed[] = {
      U"<start_of_text>", U"<end_of_text>", U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"};
  std::vector<std::u32string> pieces;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = i;
    for (const auto lit : kFixed) {
      if (matches_at(text, i, lit)) {
        end = i + lit.size();
        break;
      }
    }
    if (end == i) {
      const char32_t c = text[i];
      if (is_letter(c)) {
        end = i + 1;
        while (end < text.size() && is_letter(text[end])) ++end;
      } else if (is_number(c)) {
        end = i + 1;
      } else if (is_other(c)) {
        end = i + 1;
        while (end < text.size() && is_other(text[end])) ++end;
      } else {
        ++i;  // whitespace (and U+0345): between matches, not in any
        continue;
      }
    }
    pieces.emplace_back(text.substr(i, end - i));
    i = end;
  }
  return pieces;
}

}  // namespace vit::text
