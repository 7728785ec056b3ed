// `flopwise data prepare`: documents -> token ids (in parallel) -> a dataset
// directory with a train and a validation split of flopwise shards, and
// manifests (docs/data.md).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/data/corpus.h"
#include "worker/data/shard_writer.h"
#include "worker/data/tokenizer.h"

namespace flopwise::data {

struct PrepareProgress {
  uint64_t bytes_read = 0;   // input bytes consumed
  uint64_t total_bytes = 0;  // input bytes overall
  int64_t documents = 0;
  int64_t tokens = 0;
  double seconds = 0;
};

struct PrepareOptions {
  std::string tokenizer = "cl100k_base";
  std::vector<std::string> inputs;  // "brown", files, folders
  std::string out_dir;
  CorpusOptions corpus;
  double validation_fraction = 0.05;  // of documents, chosen by a hash of their id
  int threads = 0;                    // 0: every hardware thread
  int64_t shard_tokens = 100'000'000;
  SpecialTokens special = SpecialTokens::kAsText;           // special-token text inside documents
  std::function<void(const PrepareProgress&)> on_progress;  // called after each batch
};

struct PrepareSummary {
  std::string tokenizer;
  int64_t vocab_size = 0;  // padded
  SplitSummary train, validation;
  uint64_t text_bytes = 0;  // UTF-8 bytes encoded
  double seconds = 0;
};

// InvalidArgument for bad options, invalid input (named by file and offset)
// or an input without any text.
absl::StatusOr<PrepareSummary> PrepareDataset(const PrepareOptions& options);

}  // namespace flopwise::data
