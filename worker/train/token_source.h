// Where training sequences come from: flopwise::data::TokenStream when the
// data module provides it, otherwise a plain reader of raw little-endian
// token files (uint32, or uint16 for `.u16`).
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

// The fallback reader, also used directly by tests: consecutive windows of
// sequence_length + 1 tokens (overlapping by one), wrapping at the end.
absl::StatusOr<std::unique_ptr<TokenSource>> OpenRawTokenFile(const std::string& path,
                                                              int64_t sequence_length);

}  // namespace flopwise::train
