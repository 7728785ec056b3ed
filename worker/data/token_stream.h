// TokenStream: fixed-length training sequences read from token shards.
//
// A stream opens one of
//   - a shard directory written by `flopwise data prepare` (manifest.json plus
//     flopwise shards, see docs/data.md),
//   - one flopwise shard file (magic "FLOPWTOK"),
//   - one llm.c shard (.bin with magic 20240520, version 1, uint16 tokens),
//   - a raw little-endian token file: `.u16`, `.u32`, or a `.bin` without the
//     llm.c magic (read as uint32).
// Files are memory-mapped. The stream is the concatenation of all shards,
// with the end-of-text id of the shard's tokenizer inserted before every
// document of a flopwise shard (llm.c shards already carry it; raw files are
// read as they are). It is cut into windows of sequence_length + 1 tokens
// starting every sequence_length tokens (inputs and shifted targets).
// With `shuffle`, the windows of each epoch are visited in a permutation
// determined by (seed, epoch) alone; the stream wraps around epochs forever.
//
// Not thread-safe: one stream per reader thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flopwise::data {

struct StreamOptions {
  int64_t sequence_length = 0;  // tokens per input sequence; > 0
  uint64_t seed = 0;            // shuffle seed
  bool shuffle = true;          // visit windows in a seeded permutation per epoch
};

class TokenStream {
 public:
  virtual ~TokenStream() = default;

  // Opens a shard directory (with manifest), one flopwise shard, an llm.c .bin
  // shard, or a raw little-endian token file (`.u16`/`.u32`, or .bin without
  // the llm.c magic = uint32). Returns InvalidArgument for a truncated or
  // foreign file, NotFound for a missing path, and FailedPrecondition when the
  // data holds fewer than sequence_length + 1 tokens.
  static absl::StatusOr<std::unique_ptr<TokenStream>> Open(const std::string& path,
                                                           const StreamOptions& options);

  // Fills `out` (size sequence_length + 1: inputs and the shifted target) with
  // the next sequence. Returns InvalidArgument when `out` has another size.
  virtual absl::Status NextSequence(std::span<int32_t> out) = 0;

  // Opaque; Seek(position()) resumes exactly (same sequences in the same order)
  // on a stream opened on the same data with the same options.
  virtual uint64_t position() const = 0;
  virtual absl::Status Seek(uint64_t position) = 0;

  // Distinct windows in the data: one epoch (the stream repeats after it).
  virtual uint64_t sequences_per_epoch() const = 0;

  virtual int64_t vocab_size() const = 0;  // from the shard header (0 if unknown: raw files)
  virtual std::string tokenizer_name() const = 0;  // "" if unknown
};

}  // namespace flopwise::data
