// The on-disk layout of a flopwise token shard (see docs/data.md). Private to
// worker/data except through shard_writer.h and token_stream.h.
//
// All integers little-endian. Bytes:
//   [0, 256)   header (ShardHeader)
//   [256, 256 + token_count * token_width)                 tokens
//   [documents_offset, + (document_count + 1) * 8)          document starts (uint64,
//              token index of each document's first token, then token_count)
// documents_offset is the end of the tokens rounded up to 8 bytes.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace flopwise::data {

inline constexpr char kShardMagic[8] = {'F', 'L', 'O', 'P', 'W', 'T', 'O', 'K'};
inline constexpr uint32_t kShardVersion = 1;
inline constexpr size_t kShardHeaderBytes = 256;
inline constexpr size_t kShardTokenizerNameBytes = 64;

struct ShardHeader {
  uint32_t version = kShardVersion;
  uint32_t token_width = 0;  // bytes per token: 2 (uint16) or 4 (uint32)
  uint64_t token_count = 0;
  uint64_t document_count = 0;
  uint64_t vocab_size = 0;  // padded vocabulary; every token id is below it
  int64_t eot_id = -1;      // id inserted before each document by the reader; -1: none
  std::string tokenizer;    // at most 63 bytes

  uint64_t documents_offset() const {
    return (kShardHeaderBytes + token_count * token_width + 7) / 8 * 8;
  }
  uint64_t file_bytes() const { return documents_offset() + (document_count + 1) * 8; }
};

// Serializes `header` into exactly kShardHeaderBytes bytes.
std::string EncodeShardHeader(const ShardHeader& header);

// Parses and checks a header against the file's size. InvalidArgument naming
// `path` for a foreign file (magic), an unknown version or width, or a
// truncated file.
absl::StatusOr<ShardHeader> DecodeShardHeader(const std::string& path, const char* bytes,
                                              uint64_t file_bytes);

}  // namespace flopwise::data
