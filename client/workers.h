// The coordinator's workers (`flopwise workers`, `flopwise drain`): the calls,
// and the text the CLI prints for their answers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/user_connection.h"

namespace flopwise::client {

// Every registered worker, by id.
absl::StatusOr<std::vector<::flopwise::v1::Worker>> ListWorkers(const UserConnection& connection);

// With `draining` the worker gets no new runs (its running runs go on);
// without, it takes runs again. Returns the worker as it is now. NotFound for
// an unknown worker id.
absl::StatusOr<::flopwise::v1::Worker> SetDraining(const UserConnection& connection,
                                                   const std::string& worker_id, bool draining);

// A header and one line per worker: id, host, cores, memory, GPUs, state
// (alive, draining or lost), time since its heartbeat as of `now_ms`, and the
// ids of its running runs.
std::string WorkerTable(std::span<const ::flopwise::v1::Worker> workers, int64_t now_ms);

// "worker w1: draining, takes no new runs (2 runs still running)".
std::string DrainText(const ::flopwise::v1::Worker& worker);

}  // namespace flopwise::client
