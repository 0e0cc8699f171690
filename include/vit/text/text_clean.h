// CLIP's text preparation before byte-level BPE, as open_clip's SimpleTokenizer does it: the
// cleaning (HTML unescape twice, whitespace, lower case) and the split into pre-tokens.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vit::text {

// Longest text accepted, in UTF-8 bytes: labels and prompts are short, and BPE's merge loop is
// quadratic in a word's length (one word of 16 KiB random Latin letters takes 0.7 s).
constexpr size_t kMaxTextBytes = 16384;

// The code points of UTF-8 text. Text is taken as valid UTF-8: an invalid sequence (a stray
// continuation byte, an overlong form, a surrogate, past U+10FFFF, cut short) throws UsageError
// naming its byte offset; nothing is repaired or replaced.
std::u32string decode_utf8(std::string_view text);
std::string encode_utf8(std::u32string_view text);

// Python's str.isspace(): general category Zs, or bidirectional class WS, B or S.
bool is_space(char32_t c);

// Python's html.unescape: numeric references with its rules (U+FFFD for 0, surrogates and past
// U+10FFFF; windows-1252's characters for 0x80-0x9F; nothing for the other invalid code points),
// named ones from the HTML5 table, longest known prefix first for a name it lacks.
std::u32string html_unescape(std::u32string_view text);

// open_clip's 'lower' cleaning without ftfy: html.unescape twice, strip, whitespace runs to one
// space, then Unicode full lower-casing (ICU's root locale: final sigma, İ -> i + U+0307), as
// Python's str.lower() does.
std::u32string clean_lower(std::u32string_view text);

// open_clip's pre-tokenizer, regex.findall of
//   <start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// under IGNORECASE, on cleaned text: the pieces in order (whitespace between them dropped).
// (U+001C-001F, whitespace to Python's str.split but not to the regex's \s, are taken as
// whitespace here; cleaning has removed them.)
std::vector<std::u32string> pre_tokenize(std::u32string_view cleaned);

}  // namespace vit::text
