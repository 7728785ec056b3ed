// Reader of tiktoken's standard ranks files: one "<base64 token> <rank>" line
// per token.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flopwise::data {

// Token bytes indexed by rank; every rank from 0 to size()-1 is present.
using RankedTokens = std::vector<std::string>;

// Returns InvalidArgument naming the file, line number and problem (bad
// base64, missing or non-numeric rank, duplicate or missing rank, duplicate token).
absl::StatusOr<RankedTokens> ReadRanksFile(const std::string& path);
absl::StatusOr<RankedTokens> ParseRanks(const std::string& text, const std::string& origin);

}  // namespace flopwise::data
