// Haystack text for the needle task: the run's own held-out text.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/data/tokenizer.h"

namespace flopwise::eval {

// The first `tokens` tokens (fewer if the split is shorter) of the split at
// `split_path` in order, decoded to text with each end-of-text id as a line
// break, then encoded again: plain text with no document markers.
absl::StatusOr<std::vector<int32_t>> ReadHaystack(const std::string& split_path,
                                                  const data::Tokenizer& tokenizer, int64_t tokens);

}  // namespace flopwise::eval
