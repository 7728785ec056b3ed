#include "worker/data/shard_format.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace flopwise::data {
namespace {

// Field offsets inside the header.
constexpr size_t kVersionAt = 8;
constexpr size_t kWidthAt = 12;
constexpr size_t kTokenCountAt = 16;
constexpr size_t kDocumentCountAt = 24;
constexpr size_t kVocabAt = 32;
constexpr size_t kEotAt = 40;
constexpr size_t kTokenizerAt = 48;

template <typename T>
void Put(std::string* out, size_t at, T value) {
  std::memcpy(out->data() + at, &value, sizeof(T));
}
template <typename T>
T Get(const char* bytes, size_t at) {
  T value;
  std::memcpy(&value, bytes + at, sizeof(T));
  return value;
}

}  // namespace

std::string EncodeShardHeader(const ShardHeader& header) {
  std::string out(kShardHeaderBytes, '\0');
  std::memcpy(out.data(), kShardMagic, sizeof(kShardMagic));
  Put<uint32_t>(&out, kVersionAt, header.version);
  Put<uint32_t>(&out, kWidthAt, header.token_width);
  Put<uint64_t>(&out, kTokenCountAt, header.token_count);
  Put<uint64_t>(&out, kDocumentCountAt, header.document_count);
  Put<uint64_t>(&out, kVocabAt, header.vocab_size);
  Put<int64_t>(&out, kEotAt, header.eot_id);
  std::memcpy(out.data() + kTokenizerAt, header.tokenizer.data(),
              std::min(header.tokenizer.size(), kShardTokenizerNameBytes - 1));
  return out;
}

absl::StatusOr<ShardHeader> DecodeShardHeader(const std::string& path, const char* bytes,
                                              uint64_t file_bytes) {
  if (file_bytes < kShardHeaderBytes || std::memcmp(bytes, kShardMagic, 8) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a flopwise token shard (no FLOPWTOK header)"));
  }
  ShardHeader header;
  header.version = Get<uint32_t>(bytes, kVersionAt);
  header.token_width = Get<uint32_t>(bytes, kWidthAt);
  header.token_count = Get<uint64_t>(bytes, kTokenCountAt);
  header.document_count = Get<uint64_t>(bytes, kDocumentCountAt);
  header.vocab_size = Get<uint64_t>(bytes, kVocabAt);
  header.eot_id = Get<int64_t>(bytes, kEotAt);
  const char* name = bytes + kTokenizerAt;
  header.tokenizer.assign(name, strnlen(name, kShardTokenizerNameBytes - 1));
  if (header.version != kShardVersion) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": shard version ", header.version,
                                                   " is not supported (expected ", kShardVersion,
                                                   ")"));
  }
  if (header.token_width != 2 && header.token_width != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": token width ", header.token_width, " is not 2 or 4"));
  }
  if (header.token_count > (uint64_t{1} << 40) || header.document_count > header.token_count) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": header counts are implausible (",
                                                   header.token_count, " tokens, ",
                                                   header.document_count, " documents)"));
  }
  if (header.vocab_size > (uint64_t{1} << 31) ||
      (header.eot_id >= 0 && static_cast<uint64_t>(header.eot_id) >= header.vocab_size)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": vocab_size ", header.vocab_size,
                                                   " or eot_id ", header.eot_id, " is invalid"));
  }
  if (file_bytes != header.file_bytes()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": truncated or corrupt: the header promises ", header.token_count,
                     " tokens and ", header.document_count, " documents (", header.file_bytes(),
                     " bytes), the file has ", file_bytes, " bytes"));
  }
  return header;
}

}  // namespace flopwise::data
