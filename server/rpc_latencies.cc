#include "server/rpc_latencies.h"

#include <algorithm>

namespace flopwise::server {

void LatencyHistogram::Observe(double seconds) {
  const size_t bucket =
      std::lower_bound(kUpperBoundsSeconds.begin(), kUpperBoundsSeconds.end(), seconds) -
      kUpperBoundsSeconds.begin();
  absl::MutexLock lock(&mu_);
  ++counts_[bucket];
  sum_seconds_ += seconds;
}

HistogramValue LatencyHistogram::Value() const {
  HistogramValue value;
  value.upper_bounds.assign(kUpperBoundsSeconds.begin(), kUpperBoundsSeconds.end());
  absl::MutexLock lock(&mu_);
  uint64_t below = 0;
  for (size_t i = 0; i < kUpperBoundsSeconds.size(); ++i) {
    below += counts_[i];
    value.cumulative_counts.push_back(below);
  }
  value.count = below + counts_.back();
  value.sum = sum_seconds_;
  return value;
}

LatencyHistogram* RpcLatencies::ForMethod(std::string_view method) {
  absl::MutexLock lock(&mu_);
  auto it = methods_.find(method);
  if (it == methods_.end()) {
    it = methods_.emplace(std::string(method), std::make_unique<LatencyHistogram>()).first;
  }
  return it->second.get();
}

std::vector<std::pair<std::string, HistogramValue>> RpcLatencies::Values() const {
  std::vector<std::pair<std::string, HistogramValue>> values;
  absl::MutexLock lock(&mu_);
  for (const auto& [method, histogram] : methods_) values.emplace_back(method, histogram->Value());
  return values;
}

}  // namespace flopwise::server
