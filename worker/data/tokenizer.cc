#include "worker/data/tokenizer.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "worker/data/bpe_tokenizer.h"
#include "worker/data/byte_tokenizer.h"
#include "worker/data/data_dir.h"
#include "worker/data/encodings.h"

namespace flopwise::data {

absl::StatusOr<SpecialTokens> ParseSpecialTokens(std::string_view name) {
  if (name == "reject") return SpecialTokens::kReject;
  if (name == "allow") return SpecialTokens::kAllow;
  if (name == "text") return SpecialTokens::kAsText;
  return absl::InvalidArgumentError(
      absl::StrCat("special tokens: '", std::string(name), "' is not one of reject, allow, text"));
}

std::vector<std::string> Tokenizer::Names() {
  std::vector<std::string> names = {"byte"};
  for (std::string& name : EncodingNames()) names.push_back(std::move(name));
  return names;
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::Load(std::string_view name) {
  if (name == "byte") return std::unique_ptr<Tokenizer>(new ByteTokenizer());
  const EncodingSpec* spec = FindEncoding(name);
  if (spec == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokenizer '", std::string(name),
                     "' is unknown (known: ", absl::StrJoin(Names(), ", "), ")"));
  }
  ASSIGN_OR_RETURN(std::string path,
                   FindDataFile("tokenizers/" + spec->ranks_file,
                                "run scripts/prepare-tokenizers.sh (or scripts/install-deps.sh)"));
  return LoadFromFile(name, path);
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::LoadFromFile(std::string_view name,
                                                                   const std::string& ranks_path) {
  const EncodingSpec* spec = FindEncoding(name);
  if (spec == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tokenizer '", std::string(name),
        "' is not a BPE encoding (known: ", absl::StrJoin(EncodingNames(), ", "), ")"));
  }
  ASSIGN_OR_RETURN(RankedTokens ranks, ReadRanksFile(ranks_path));
  ASSIGN_OR_RETURN(std::unique_ptr<BpeTokenizer> tokenizer, BpeTokenizer::Create(*spec, ranks));
  return std::unique_ptr<Tokenizer>(std::move(tokenizer));
}

}  // namespace flopwise::data
