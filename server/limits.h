// Bounds the coordinator holds sweep specs and worker reports to (docs/api.md,
// "Limits"), in one place so that a spec the coordinator accepts can never
// produce a report it refuses.
#pragma once

#include <cstdint>

namespace flopwise::server {

// A step or token count beyond 10^13 (over 30 times the paper's 300B-token
// budget) is no study this service runs: in a spec it is a typo, in a report
// a bug or a forged message, and stored it would stretch every plot's axis.
inline constexpr int64_t kMaxTokens = 10'000'000'000'000;

}  // namespace flopwise::server
