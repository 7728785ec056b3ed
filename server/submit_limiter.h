// The per-client rate limit of SubmitSweep (docs/operations.md, "Limits"): a
// bucket per client address that holds `per_minute` submissions and refills
// at that rate, so a client may submit a burst of `per_minute` sweeps and
// then one every 60/per_minute seconds. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/scheduler.h"

namespace flopwise::server {

// The client address of a gRPC peer ("ipv4:10.0.0.7:51234" -> "10.0.0.7",
// "ipv6:[::1]:51234" -> "::1"): every connection of one host shares it.
std::string ClientAddress(std::string_view peer);

class SubmitLimiter {
 public:
  // `per_minute` 0: no limit.
  SubmitLimiter(int per_minute, Clock clock);

  // Takes one submission from `client`'s bucket; ResourceExhausted saying the
  // limit and in how many seconds to retry when the bucket is empty.
  absl::Status Admit(std::string_view client) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Bucket {
    double submissions = 0;  // left, refilled up to per_minute_
    int64_t updated_ms = 0;
  };
  // `bucket` refilled up to `now_ms`.
  void RefillLocked(Bucket& bucket, int64_t now_ms) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forgets the clients whose bucket is full again (as a new client's would be).
  void ForgetIdleLocked(int64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int per_minute_;
  const Clock clock_;
  absl::Mutex mu_;
  std::map<std::string, Bucket, std::less<>> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace flopwise::server
