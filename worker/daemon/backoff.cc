#include "worker/daemon/backoff.h"

#include <algorithm>
#include <cmath>

namespace flopwise::workerd {

Backoff::Backoff(const BackoffOptions& options, uint64_t seed)
    : options_(options), rng_(static_cast<std::minstd_rand::result_type>(seed | 1)) {}

int64_t Backoff::NextDelayMs() {
  const double base = std::min<double>(
      static_cast<double>(options_.max_ms),
      static_cast<double>(options_.initial_ms) * std::pow(options_.multiplier, failures_));
  ++failures_;
  std::uniform_real_distribution<double> factor(1.0 - options_.jitter, 1.0 + options_.jitter);
  return std::max<int64_t>(1, static_cast<int64_t>(base * factor(rng_)));
}

}  // namespace flopwise::workerd
