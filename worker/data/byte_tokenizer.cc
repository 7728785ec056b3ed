#include "worker/data/byte_tokenizer.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/utf8.h"

namespace flopwise::data {
namespace {
constexpr std::string_view kEndOfTextText = "<|endoftext|>";
}  // namespace

absl::Status ByteTokenizer::Encode(std::string_view text, SpecialTokens special,
                                   std::vector<int32_t>* ids) const {
  if (const int64_t bad = FindInvalidUtf8(text); bad >= 0) {
    return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte offset ", bad));
  }
  ids->reserve(ids->size() + text.size());
  for (size_t i = 0; i < text.size();) {
    if (special != SpecialTokens::kAsText && text.substr(i).starts_with(kEndOfTextText)) {
      if (special == SpecialTokens::kReject) {
        return absl::InvalidArgumentError(
            absl::StrCat("text contains the special token <|endoftext|> at byte offset ", i,
                         " (allow special tokens, or encode them as text)"));
      }
      ids->push_back(kEndOfText);
      i += kEndOfTextText.size();
      continue;
    }
    ids->push_back(static_cast<unsigned char>(text[i]));
    ++i;
  }
  return absl::OkStatus();
}

absl::Status ByteTokenizer::Decode(std::span<const int32_t> ids, std::string* text) const {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == kEndOfText) {
      text->append(kEndOfTextText);
    } else if (ids[i] >= 0 && ids[i] < 256) {
      text->push_back(static_cast<char>(ids[i]));
    } else {
      return absl::InvalidArgumentError(absl::StrCat("token id ", ids[i], " at position ", i,
                                                     " is not in the vocabulary of byte (n_vocab ",
                                                     n_vocab(), ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace flopwise::data
