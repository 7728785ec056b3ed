// Writes one split (e.g. "train") of a token dataset: flopwise shards of at
// most about `shard_tokens` tokens each, plus the split's manifest.json.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flopwise::data {

struct ShardWriterOptions {
  std::string dir;         // created if absent; holds shard-NNNNNN.tok and manifest.json
  std::string split;       // recorded in the manifest
  std::string tokenizer;   // name recorded in headers and manifest
  int64_t vocab_size = 0;  // padded vocabulary; every id must be below it
  int64_t n_vocab = 0;     // the tokenizer's own vocabulary (manifest only)
  int32_t eot_id = -1;     // inserted by readers before each document; -1: none
  int64_t shard_tokens = 100'000'000;  // a shard is closed once it holds this many tokens
};

struct SplitSummary {
  std::string split;
  int64_t documents = 0;
  int64_t tokens = 0;
  std::vector<std::string> shard_files;  // names relative to the split's directory
};

// Not thread-safe.
class ShardWriter {
 public:
  static absl::StatusOr<std::unique_ptr<ShardWriter>> Create(const ShardWriterOptions& options);
  ~ShardWriter();

  // Appends one document's ids. InvalidArgument names the first id outside
  // [0, vocab_size).
  absl::Status AddDocument(std::span<const int32_t> ids);

  // Closes the last shard and writes manifest.json. An empty split is written
  // with no shards.
  absl::StatusOr<SplitSummary> Finish();

 private:
  explicit ShardWriter(const ShardWriterOptions& options) : options_(options) {}
  absl::Status OpenShard();
  absl::Status CloseShard();

  ShardWriterOptions options_;
  SplitSummary summary_;
  std::vector<int64_t> shard_tokens_, shard_documents_;
  std::FILE* file_ = nullptr;  // the open shard, under a temporary name
  std::string temp_path_, final_path_;
  std::vector<uint64_t> document_starts_;  // of the open shard
  uint64_t tokens_in_shard_ = 0;
  std::vector<char> buffer_;
};

// Smallest token width (2 or 4 bytes) that holds every id below vocab_size.
inline uint32_t TokenWidthFor(int64_t vocab_size) { return vocab_size <= 65536 ? 2 : 4; }

}  // namespace flopwise::data
