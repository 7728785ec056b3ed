// The key-value exchange behind a data-parallel run's rendezvous
// (docs/distributed.md): every rank publishes what the others need (Gloo's
// transport addresses, NCCL's unique id) and waits for theirs. One
// interface, several places to keep the keys: a shared folder for ranks on
// one host and tests, the coordinator's worker API for a run the coordinator
// gang-scheduled (no shared file system needed).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace flopwise::comm {

class KeyValueStore {
 public:
  virtual ~KeyValueStore() = default;
  // Publishes `value` under `key`. Setting a key twice to the same value is
  // OK; to another value it is FailedPrecondition (ranks never overwrite).
  virtual absl::Status Set(const std::string& key, const std::string& value) = 0;
  // The value of `key`, waiting up to `timeout` for some rank to set it;
  // DeadlineExceeded naming the key when nobody did.
  virtual absl::StatusOr<std::string> Get(const std::string& key, absl::Duration timeout) = 0;
};

}  // namespace flopwise::comm
