// Byte-pair encoding compatible with tiktoken. Private to worker/data: use
// Tokenizer::Load.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "worker/data/encodings.h"
#include "worker/data/pretokenizer.h"
#include "worker/data/rank_table.h"
#include "worker/data/ranks_file.h"
#include "worker/data/tokenizer.h"

namespace flopwise::data {

class BpeTokenizer final : public Tokenizer {
 public:
  // Returns InvalidArgument when the ranks lack a single byte or a special id
  // collides with a rank.
  static absl::StatusOr<std::unique_ptr<BpeTokenizer>> Create(const EncodingSpec& spec,
                                                              const RankedTokens& ranks);

  const std::string& name() const override { return name_; }
  absl::Status Encode(std::string_view text, SpecialTokens special,
                      std::vector<int32_t>* ids) const override;
  absl::Status Decode(std::span<const int32_t> ids, std::string* text) const override;
  int32_t eot_id() const override { return eot_id_; }
  int64_t n_vocab() const override { return n_vocab_; }
  std::vector<std::pair<std::string, int32_t>> special_tokens() const override { return specials_; }

 private:
  BpeTokenizer(std::string name, const RankedTokens& ranks,
               std::unique_ptr<Pretokenizer> pretokenizer,
               std::vector<std::pair<std::string, int32_t>> specials);

  // Encodes ordinary text (no special tokens) piece by piece.
  absl::Status EncodeOrdinary(std::string_view text, std::vector<int32_t>* ids) const;
  // Merges the bytes of one piece by rank and appends the resulting ids.
  void EncodePiece(std::string_view piece, std::vector<int32_t>* ids) const;
  // Finds the first special token at or after `from`; npos when none.
  size_t FindSpecial(std::string_view text, size_t from, size_t* which) const;

  std::string name_;
  RankTable ranks_;
  std::unique_ptr<Pretokenizer> pretokenizer_;
  std::vector<std::pair<std::string, int32_t>> specials_;
  int32_t eot_id_ = -1;
  int64_t n_vocab_ = 0;
};

}  // namespace flopwise::data
