// Exponential backoff with jitter for retrying calls to the coordinator.
#pragma once

#include <cstdint>
#include <random>

namespace flopwise::workerd {

struct BackoffOptions {
  int64_t initial_ms = 200;
  int64_t max_ms = 10000;
  double multiplier = 2.0;
  double jitter = 0.2;  // each delay is scaled by a factor in [1 - jitter, 1 + jitter]
};

// Not thread-safe.
class Backoff {
 public:
  explicit Backoff(const BackoffOptions& options, uint64_t seed = 1);

  // The delay before the next try after one more failure; grows from
  // initial_ms by `multiplier` per failure up to max_ms.
  int64_t NextDelayMs();
  // After a success: the next failure waits initial_ms again.
  void Reset() { failures_ = 0; }
  int failures() const { return failures_; }

 private:
  BackoffOptions options_;
  int failures_ = 0;
  std::minstd_rand rng_;
};

}  // namespace flopwise::workerd
