// RendezvousTable: the key-value scopes behind WorkerService.RendezvousSet
// and RendezvousGet (docs/api.md, "Data-parallel runs"). One scope per
// active multi-rank attempt, opened when the scheduler leases its ranks and
// closed (its keys dropped) when the attempt ends, so ranks of different
// attempts never see each other's keys. Bounded: key and value sizes, keys
// and bytes per scope. Thread-safe; Get blocks the calling thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace flopwise::server {

// Bounds of one scope (docs/api.md, "Limits of worker reports").
inline constexpr size_t kMaxRendezvousKeyBytes = 512;
inline constexpr size_t kMaxRendezvousValueBytes = size_t{1} << 20;
inline constexpr size_t kMaxRendezvousKeys = 4096;
inline constexpr size_t kMaxRendezvousScopeBytes = size_t{16} << 20;
// The longest one Get waits on the coordinator.
inline constexpr absl::Duration kMaxRendezvousWait = absl::Seconds(30);

class RendezvousTable {
 public:
  // Opens the (empty) scope of the attempt; an open scope is kept as it is.
  void Open(int64_t run_id, int attempt) ABSL_LOCKS_EXCLUDED(mu_);
  // Drops the scope and its keys; waiting Gets return FailedPrecondition.
  void Close(int64_t run_id, int attempt) ABSL_LOCKS_EXCLUDED(mu_);
  // Stores `value` under `key`. FailedPrecondition when the scope is not
  // open or the key holds another value; InvalidArgument naming `key` or
  // `value` over the size limits; ResourceExhausted when the scope is full.
  absl::Status Set(int64_t run_id, int attempt, const std::string& key, std::string value)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The value of `key`, waiting up to `wait` (at most kMaxRendezvousWait)
  // for it; nullopt when it was not set in time. FailedPrecondition when the
  // scope is not open or closes meanwhile; Unavailable after Shutdown().
  absl::StatusOr<std::optional<std::string>> Get(int64_t run_id, int attempt,
                                                 const std::string& key, absl::Duration wait)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Wakes every waiting Get; later Gets return at once.
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  using ScopeKey = std::pair<int64_t, int>;  // (run_id, attempt)
  struct Scope {
    std::map<std::string, std::string> values;
    size_t bytes = 0;  // keys and values
  };

  absl::Mutex mu_;
  absl::CondVar changed_;  // signalled by Set, Close and Shutdown
  std::map<ScopeKey, Scope> scopes_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace flopwise::server
