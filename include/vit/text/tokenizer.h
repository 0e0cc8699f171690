// CLIP's byte-level BPE tokenizer, equal to open_clip's SimpleTokenizer (its 'lower' cleaning,
// 77-token context): token ids for labels and prompts, for the text tower.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vit::text {

// Largest tokenizer file read, gzipped and unpacked (open_clip's merges are 1.4 MB gzipped and
// 3.2 MB unpacked; a Hugging Face vocab.json about 1 MB), and most tokens in a vocabulary.
constexpr size_t kMaxTokenizerFileBytes = 64u << 20;
constexpr size_t kMaxVocabulary = 1u << 20;

// Cleaning: html.unescape twice, whitespace runs to one space, Unicode lower case (see
// text_clean.h). Not done: ftfy.fix_text, which open_clip runs first to repair mojibake and
// normalise (NFC, curly quotes, ligatures, full-width forms); text is taken as valid UTF-8 as
// typed, and invalid UTF-8 throws UsageError. Ids differ from open_clip's only where ftfy would
// change the text.
class ClipTokenizer {
 public:
  // open_clip's bpe_simple_vocab_16e6.txt.gz (gzip, or the same text unpacked): line 0 a header,
  // lines 1..48894 the merges "a b" in rank order (open_clip's slice [1:49152-256-2+1]); ids are
  // the 256 byte characters, the same with "</w>", the merges' results, <start_of_text>,
  // <end_of_text>. Throws ModelError naming the file and the fault.
  static ClipTokenizer from_file(const std::string& path);
  // Hugging Face's vocab.json (token -> id, with <|startoftext|> and <|endoftext|>) and
  // merges.txt ("#version" header line, then the merges in rank order). Throws ModelError.
  static ClipTokenizer from_hugging_face(const std::string& vocab_json, const std::string& merges_txt);

  // The ids of `text` without start and end tokens (open_clip's encode). Throws UsageError for
  // invalid UTF-8 or text past kMaxTextBytes.
  std::vector<int32_t> encode(std::string_view text) const;
  // context_length ids: start, the text's ids, end, then zeros; cut to context_length with the
  // end token last where longer (open_clip's __call__).
  std::vector<int32_t> tokenize(std::string_view text, size_t context_length = 77) const;

  int32_t sot() const { return sot_; }
  int32_t eot() const { return eot_; }
  size_t vocabulary_size() const { return vocabulary_size_; }

 private:
  struct Merge {
    int32_t rank;
    int32_t merged;  // the id of the two symbols joined
  };
  struct Cache;

  ClipTokenizer() = default;
  // From the token -> id table and the merges (pairs of tokens, best first); `origin` names the
  // files in errors.
  void build(const std::unordered_map<std::string, int32_t>& encoder,
             const std::vector<std::pair<std::string, std::string>>& merges, int32_t sot, int32_t eot,
             const std::string& origin);
  void encode_into(std::string_view text, size_t most, std::vector<int32_t>& ids) const;
  void bpe(const std::string& word, std::vector<int32_t>& ids) const;

  int32_t byte_id_[256] = {};                   // a byte's character, inside a word
  int32_t byte_end_id_[256] = {};               // the same with "</w>", ending a word
  std::unordered_map<uint64_t, Merge> merges_;  // (left id << 32 | right id) -> rank and result
  int32_t sot_ = 0, eot_ = 0;
  size_t vocabulary_size_ = 0;
  std::shared_ptr<Cache> cache_;  // words already split (open_clip's cache), shared by copies
};

}  // namespace vit::text
