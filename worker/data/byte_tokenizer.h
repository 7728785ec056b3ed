// Byte-level tokenizer: ids 0-255 are the bytes, 256 is <|endoftext|>.
// Private to worker/data: use Tokenizer::Load("byte").
#pragma once

#include "worker/data/tokenizer.h"

namespace flopwise::data {

class ByteTokenizer final : public Tokenizer {
 public:
  static constexpr int32_t kEndOfText = 256;

  const std::string& name() const override { return name_; }
  absl::Status Encode(std::string_view text, SpecialTokens special,
                      std::vector<int32_t>* ids) const override;
  absl::Status Decode(std::span<const int32_t> ids, std::string* text) const override;
  int32_t eot_id() const override { return kEndOfText; }
  int64_t n_vocab() const override { return kEndOfText + 1; }
  std::vector<std::pair<std::string, int32_t>> special_tokens() const override {
    return {{"<|endoftext|>", kEndOfText}};
  }

 private:
  std::string name_ = "byte";
};

}  // namespace flopwise::data
