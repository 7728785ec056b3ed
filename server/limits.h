// Bounds the coordinator holds sweep specs and worker reports to (docs/api.md,
// "Limits"), in one place so that a spec the coordinator accepts can never
// produce a report it refuses; and the bounds of list pages and submissions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace flopwise::server {

// A step or token count beyond 10^13 (over 30 times the paper's 300B-token
// budget) is no study this service runs: in a spec it is a typo, in a report
// a bug or a forged message, and stored it would stretch every plot's axis.
inline constexpr int64_t kMaxTokens = 10'000'000'000'000;

// Ranks of one data-parallel run (a spec's resources.replicas).
inline constexpr int kMaxReplicas = 1024;

// ---- List calls (docs/api.md, "Paging") ----
// Rows per page when a request leaves page_size at 0, and the most it may ask.
inline constexpr int kDefaultPageSize = 10'000;
inline constexpr int kMaxPageSize = 100'000;
// A page ends once its rows hold this many bytes, well under gRPC's default
// 4 MiB limit on a message a client receives (a single larger row is sent alone).
inline constexpr size_t kMaxPageBytes = size_t{1} << 20;

// ---- Submissions (docs/operations.md, "Limits"); flags of the coordinator ----
// SubmitSweep calls that store a sweep, per client address and minute.
inline constexpr int kDefaultMaxSubmitsPerMinute = 60;
// Runs one sweep may expand to: the default of --max-runs-per-sweep and the
// most it may be set to.
inline constexpr size_t kMaxRunsPerSweep = 10'000;
// Runs queued (pending) over all sweeps.
inline constexpr size_t kDefaultMaxPendingRuns = 100'000;

}  // namespace flopwise::server
