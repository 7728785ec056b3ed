// The first step of a rendezvous (private to comm/): every rank publishes its
// world size and run config under "flopwise/rank/<r>" and holds the others'
// to its own, so ranks started with different settings stop before any
// collective (docs/distributed.md, "Rendezvous").
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "comm/key_value_store.h"

namespace flopwise::comm {

// The arguments every communicator's constructor takes: InvalidArgument
// naming the field for a world size below 1, a rank outside [0, world_size)
// or a timeout that is not positive.
absl::Status CheckRankArguments(int rank, int world_size, absl::Duration timeout);

// Publishes this rank's entry (marked with a random launch id, so a store an
// earlier launch used fails this Set), then reads every other rank's (waiting up to
// `timeout` for each). DeadlineExceeded naming the rank that never published;
// FailedPrecondition naming the rank and what differs: its world size, or
// the config entries ("--batch-tokens 256 vs 128") and both config hashes.
absl::Status CheckPeersMatch(KeyValueStore& store, int rank, int world_size,
                             const std::vector<std::pair<std::string, std::string>>& config,
                             absl::Duration timeout);

}  // namespace flopwise::comm
