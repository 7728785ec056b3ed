// Where training sequences come from: flopwise::data::TokenStream (shard
// directories, shards, llm.c files and raw token files; docs/data.md) behind
// the small interface the trainer needs.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flopwise::train {

class TokenSource {
 public:
  virtual ~TokenSource() = default;

  // Opens `path` for sequences of `sequence_length` + 1 tokens; `seed`
  // drives the order where the underlying stream shuffles.
  static absl::StatusOr<std::unique_ptr<TokenSource>> Open(const std::string& path,
                                                           int64_t sequence_length, uint64_t seed);

  // Fills `out` (sequence_length + 1 ids: inputs then the shifted target).
  virtual absl::Status Next(std::span<int32_t> out) = 0;
  // Opaque position; Seek(position()) continues with the same sequences.
  virtual uint64_t position() const = 0;
  virtual absl::Status Seek(uint64_t position) = 0;
};

}  // namespace flopwise::train
