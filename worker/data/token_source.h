// One memory-mapped token file seen as a sequence of "stream tokens": the
// file's tokens, with the end-of-text id inserted before every document of a
// flopwise shard. Private to worker/data (TokenStream's building block).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/status/statusor.h"

namespace flopwise::data {

class TokenSource {
 public:
  virtual ~TokenSource() = default;

  // Opens a flopwise shard, an llm.c shard, or a raw .u16/.u32/.bin file,
  // chosen by magic first and file extension second.
  static absl::StatusOr<std::unique_ptr<TokenSource>> Open(const std::string& path);

  virtual uint64_t length() const = 0;  // stream tokens
  // Copies stream tokens [start, start + out.size()) to `out`. InvalidArgument
  // names the file and token index of an id at or above the vocabulary (or
  // above INT32_MAX for raw files). REQUIRES: start + out.size() <= length().
  virtual absl::Status Read(uint64_t start, std::span<int32_t> out) const = 0;

  virtual int64_t vocab_size() const = 0;  // 0: unknown
  virtual std::string tokenizer_name() const = 0;
};

}  // namespace flopwise::data
