// Tokenizers behind one interface: a byte-level tokenizer for tiny CPU
// studies and byte-pair encodings compatible with tiktoken (cl100k_base,
// r50k_base alias gpt2, o200k_base). See docs/data.md.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flopwise::data {

// What Encode does with the text of a special token such as "<|endoftext|>".
enum class SpecialTokens {
  kReject,  // InvalidArgument naming the token and its byte offset (tiktoken's default)
  kAllow,   // encode it as its special id
  kAsText,  // encode its characters as ordinary text
};

absl::StatusOr<SpecialTokens> ParseSpecialTokens(std::string_view name);  // reject|allow|text

// Thread-safe: Encode and Decode may be called concurrently on one instance.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Names accepted by Load: "byte", "cl100k_base", "r50k_base", "gpt2", "o200k_base".
  static std::vector<std::string> Names();

  // Loads a tokenizer by name. BPE encodings read DataDir()/tokenizers/<name>.tiktoken;
  // NotFound names the file and scripts/prepare-tokenizers.sh when it is absent.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> Load(std::string_view name);

  // Loads a BPE encoding's ranks from an explicit tiktoken ranks file.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> LoadFromFile(std::string_view name,
                                                                 const std::string& ranks_path);

  virtual const std::string& name() const = 0;

  // Appends the ids of `text` to `ids`. Returns InvalidArgument with the byte
  // offset for invalid UTF-8, or a special token under kReject.
  virtual absl::Status Encode(std::string_view text, SpecialTokens special,
                              std::vector<int32_t>* ids) const = 0;

  // Appends the bytes of `ids` to `text`. Returns InvalidArgument naming the
  // position and id of the first id that is not in the vocabulary.
  virtual absl::Status Decode(std::span<const int32_t> ids, std::string* text) const = 0;

  virtual int32_t eot_id() const = 0;   // the id of <|endoftext|>
  virtual int64_t n_vocab() const = 0;  // largest id + 1
  virtual std::vector<std::pair<std::string, int32_t>> special_tokens() const = 0;

  // n_vocab rounded up to a multiple of 8: the vocabulary a model sees
  // (cl100k_base: 100,277 -> 100,280, the paper's figure).
  int64_t padded_vocab() const { return (n_vocab() + 7) / 8 * 8; }
};

}  // namespace flopwise::data
