// CLIP's byte-level BPE (open_clip's SimpleTokenizer): loading its merges from open_clip's or
// Hugging Face's files, and the word-by-word merge loop with open_clip's rules.
#include "vit/text/tokenizer.h"

#include <sys/stat.h>
#include <zlib.h>

#include <fstream>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "vit/errors.h"
#include "vit/text/text_clean.h"

namespace vit::text {

struct ClipTokenizer::Cache {
  std::mutex mutex;
  std::unordered_map<std::string, std::vector<int32_t>> words;  // a word's UTF-8 -> its ids
};

namespace {

constexpr size_t kMaxCachedWords = 1u << 16;  // then the cache starts again (open_clip's grows without end)
constexpr const char* kSot = "<start_of_text>";
constexpr const char* kEot = "<end_of_text>";

// open_clip's bytes_to_unicode: each byte as a printable character (UTF-8), in vocabulary order:
// the bytes that are printable Latin-1 first, as themselves, then the rest as U+0100 onwards.
std::vector<std::pair<int, std::string>> byte_characters() {
  std::vector<std::pair<int, std::string>> chars;
  bool taken[256] = {};
  for (int b = 0; b < 256; ++b) {
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) {
      chars.emplace_back(b, encode_utf8(std::u32string(1, static_cast<char32_t>(b))));
      taken[b] = true;
    }
  }
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    if (!taken[b]) chars.emplace_back(b, encode_utf8(std::u32string(1, static_cast<char32_t>(256 + n++))));
  }
  return chars;
}

// A whole file, gunzipped where it starts with gzip's magic bytes; at most kMaxTokenizerFileBytes.
std::string read_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    throw ModelError("tokenizer file " + clipped(path) + ": no such file");
  if (static_cast<size_t>(st.st_size) > kMaxTokenizerFileBytes)
    throw ModelError("tokenizer file " + clipped(path) + ": " + std::to_string(st.st_size) + " bytes, over the " +
                     std::to_string(kMaxTokenizerFileBytes) + " accepted (likely cause: not a tokenizer file)");
  std::ifstream in(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in && !in.eof()) throw ModelError("tokenizer file " + clipped(path) + ": could not be read");
  if (data.size() < 2 || static_cast<unsigned char>(data[0]) != 0x1F || static_cast<unsigned char>(data[1]) != 0x8B)
    return data;
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw ModelError("tokenizer file " + clipped(path) + ": zlib failed");
  z.next_in = reinterpret_cast<Bytef*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (out.size() >= kMaxTokenizerFileBytes) break;
    const size_t have = out.size();
    out.resize(std::min(kMaxTokenizerFileBytes, have + (1u << 20)));
    z.next_out = reinterpret_cast<Bytef*>(out.data() + have);
    z.avail_out = static_cast<uInt>(out.size() - have);
    rc = inflate(&z, Z_NO_FLUSH);
    out.resize(out.size() - z.avail_out);
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) {
    throw ModelError("tokenizer file " + clipped(path) + ": " +
                     (rc == Z_OK ? "unpacks to over " + std::to_string(kMaxTokenizerFileBytes) + " bytes"
                                 : "broken gzip data (" + std::string(z.msg ? z.msg : "truncated") + ")") +
                     " (likely cause: an incomplete download)");
  }
  return out;
}

// Its lines without their '\n' (and '\r'); checks the text is UTF-8.
std::vector<std::string> lines_of(const std::string& data, const std::string& path) {
  try {
    decode_utf8(data);
  } catch (const UsageError& e) {
    throw ModelError("tokenizer file " + clipped(path) + ": " + e.what());
  }
  std::vector<std::string> lines;
  std::istringstream in(data);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

// One merge line, "left right": its two tokens.
std::pair<std::string, std::string> merge_of(const std::string& line, size_t number, const std::string& path) {
  std::istringstream in(line);
  std::string a, b, extra;
  if (!(in >> a >> b) || (in >> extra)) {
    throw ModelError("tokenizer file " + clipped(path) + ": line " + std::to_string(number) + " is '" +
                     clipped(line, 80) + "', not a merge of two tokens (likely cause: not a BPE merges file)");
  }
  return {a, b};
}

}  // namespace

ClipTokenizer ClipTokenizer::from_file(const std::string& path) {
  const auto lines = lines_of(read_file(path), path);
  // open_clip: merges = lines[1 : 49152-256-2+1]; its vocabulary size is 49152 + 256.
  constexpr size_t kMerges = 49152 - 256 - 2;
  if (lines.size() < kMerges + 1) {
    throw ModelError("tokenizer file " + clipped(path) + ": " + std::to_string(lines.size()) +
                     " lines, but open_clip's "
                     "format has a header and " +
                     std::to_string(kMerges) +
                     " merges (likely cause: a truncated or "
                     "different file)");
  }
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(kMerges);
  for (size_t i = 1; i <= kMerges; ++i) merges.push_back(merge_of(lines[i], i + 1, path));
  // open_clip's vocabulary list, made a dict: a token listed twice keeps its last id.
  std::unordered_map<std::string, int32_t> encoder;
  int32_t id = 0;
  const auto chars = byte_characters();
  for (const auto& c : chars) encoder[c.second] = id++;
  for (const auto& c : chars) encoder[c.second + "</w>"] = id++;
  for (const auto& m : merges) encoder[m.first + m.second] = id++;
  const int32_t sot = id++, eot = id++;
  encoder[kSot] = sot;
  encoder[kEot] = eot;
  ClipTokenizer t;
  t.build(encoder, merges, sot, eot, path);
  return t;
}

ClipTokenizer ClipTokenizer::from_hugging_face(const std::string& vocab_json, const std::string& merges_txt) {
  std::unordered_map<std::string, int32_t> encoder;
  try {
    const auto vocab = nlohmann::json::parse(read_file(vocab_json));
    if (!vocab.is_object()) throw ModelError("not a JSON object of token -> id");
    if (vocab.size() > kMaxVocabulary)
      throw ModelError(std::to_string(vocab.size()) + " tokens, over the " + std::to_string(kMaxVocabulary) +
                       " accepted");
    for (const auto& [token, value] : vocab.items()) {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
          value.get<int64_t>() >= static_cast<int64_t>(kMaxVocabulary))
        throw ModelError("token '" + clipped(token, 80) + "' has id " + clipped(value.dump(), 40) +
                         ", not a whole number from 0 to " + std::to_string(kMaxVocabulary - 1));
      encoder[token] = value.get<int32_t>();
    }
  } catch (const nlohmann::json::exception& e) {
    throw ModelError("tokenizer file " + clipped(vocab_json) + ": not valid JSON (" + e.what() + ")");
  } catch (const ModelError& e) {
    const std::string what = e.what();
    if (what.rfind("tokenizer file ", 0) == 0) throw;
    throw ModelError("tokenizer file " + clipped(vocab_json) + ": " + what);
  }
  const auto lines = lines_of(read_file(merges_txt), merges_txt);
  std::vector<std::pair<std::string, std::string>> merges;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty() || (i == 0 && lines[i].rfind("#version", 0) == 0)) continue;
    if (merges.size() >= kMaxVocabulary)
      throw ModelError("tokenizer file " + clipped(merges_txt) + ": over " + std::to_string(kMaxVocabulary) +
                       " merges");
    merges.push_back(merge_of(lines[i], i + 1, merges_txt));
  }
  auto special = [&](const char* name) {
    const auto it = encoder.find(name);
    if (it == encoder.end())
      throw ModelError("tokenizer file " + clipped(vocab_json) + ": no token " + name +
                       " (likely cause: not a CLIP tokenizer's vocabulary)");
    return it->second;
  };
  const int32_t sot = special("<|startoftext|>");
  const int32_t eot = special("<|endoftext|>");
  ClipTokenizer t;
  t.build(encoder, merges, sot, eot, vocab_json + " and " + merges_txt);
  return t;
}

void ClipTokenizer::build(const std::unordered_map<std::string, int32_t>& encoder,
                          const std::vector<std::pair<std::string, std::string>>& merges, int32_t sot, int32_t eot,
                          const std::string& origin) {
  auto id_of = [&](const std::string& token, const std::string& role) {
    const auto it = encoder.find(token);
    if (it == encoder.end())
      throw ModelError("tokenizer " + clipped(origin) + ": " + role + " '" + clipped(token, 80) +
                       "' is not in the vocabulary (likely cause: merges and vocabulary from different tokenizers)");
    return it->second;
  };
  for (const auto& [byte, ch] : byte_characters()) {
    byte_id_[byte] = id_of(ch, "the byte character");
    byte_end_id_[byte] = id_of(ch + "</w>", "the byte character");
  }
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    const uint64_t key = uint64_t(uint32_t(id_of(a, "merge " + std::to_string(rank) + "'s left token"))) << 32 |
                         uint32_t(id_of(b, "merge " + std::to_string(rank) + "'s right token"));
    // As open_clip's dict of ranks: a merge listed twice keeps its last rank.
    merges_[key] = Merge{static_cast<int32_t>(rank), id_of(a + b, "merge " + std::to_string(rank) + "'s result")};
  }
  int32_t largest = std::max(sot, eot);
  for (const auto& e : encoder) largest = std::max(largest, e.second);
  sot_ = sot;
  eot_ = eot;
  vocabulary_size_ = static_cast<size_t>(largest) + 1;
  cache_ = std::make_shared<Cache>();
}

void ClipTokenizer::bpe(const std::string& word, std::vector<int32_t>& ids) const {
  {
    std::lock_guard<std::mutex> lock(cache_->mutex);
    const auto it = cache_->words.find(word);
    if (it != cache_->words.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  // The word's bytes as symbols, the last one with "</w>"; then, while some neighbouring pair is a
  // merge, the best-ranked pair is joined everywhere, left to right (open_clip's bpe()).
  std::vector<int32_t> symbols(word.size());
  for (size_t i = 0; i < word.size(); ++i) symbols[i] = byte_id_[static_cast<unsigned char>(word[i])];
  symbols.back() = byte_end_id_[static_cast<unsigned char>(word.back())];
  auto key = [](int32_t a, int32_t b) { return uint64_t(uint32_t(a)) << 32 | uint32_t(b); };
  std::vector<int32_t> next;
  while (symbols.size() > 1) {
    const Merge* best = nullptr;
    uint64_t best_key = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      const auto it = merges_.find(key(symbols[i], symbols[i + 1]));
      if (it != merges_.end() && (!best || it->second.rank < best->rank)) best = &it->second, best_key = it->first;
    }
    if (!best) break;
    next.clear();
    for (size_t i = 0; i < symbols.size();) {
      if (i + 1 < symbols.size() && key(symbols[i], symbols[i + 1]) == best_key) {
        next.push_back(best->merged);
        i += 2;
      } else {
        next.push_back(symbols[i++]);
      }
    }
    symbols.swap(next);
  }
  ids.insert(ids.end(), symbols.begin(), symbols.end());
  std::lock_guard<std::mutex> lock(cache_->mutex);
  if (cache_->words.size() >= kMaxCachedWords) cache_->words.clear();
  cache_->words.emplace(word, std::move(symbols));
}

void ClipTokenizer::encode_into(std::string_view text, size_t most, std::vector<int32_t>& ids) const {
  if (text.size() > kMaxTextBytes)
    throw UsageError("text of " + std::to_string(text.size()) + " bytes, over the " + std::to_string(kMaxTextBytes) +
                     " a label or prompt may have: '" + clipped(std::string(text), 60) + "'");
  for (const auto& piece : pre_tokenize(clean_lower(decode_utf8(text)))) {
    if (ids.size() >= most) return;
    const std::string word = encode_utf8(piece);
    // The special tokens' names, written in the text, are those tokens (open_clip's cache holds them).
    if (word == kSot)
      ids.push_back(sot_);
    else if (word == kEot)
      ids.push_back(eot_);
    else
      bpe(word, ids);
  }
}

std::vector<int32_t> ClipTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  encode_into(text, std::numeric_limits<size_t>::max(), ids);
  return ids;
}

std::vector<int32_t> ClipTokenizer::tokenize(std::string_view text, size_t context_length) const {
  if (context_length == 0 || context_length > kMaxVocabulary)
    throw UsageError("a context length of " + std::to_string(context_length) + " tokens; it must be from 1 to " +
                     std::to_string(kMaxVocabulary) + " (CLIP's is 77)");
  // Ids past context_length - 1 would be cut anyway: the text is encoded only that far.
  std::vector<int32_t> ids{sot_};
  encode_into(text, context_length, ids);
  ids.push_back(eot_);
  if (ids.size() > context_length) {
    ids.resize(context_length);
    ids.back() = eot_;
  }
  ids.resize(context_length, 0);
  return ids;
}

}  // namespace vit::text
