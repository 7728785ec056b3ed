// RpcLatencies: a latency histogram per gRPC method, filled by
// AuthorizedService (which sees every call) and read by the metrics page.
// Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/prometheus_text.h"

namespace flopwise::server {

// The durations of one method's calls, in fixed buckets. Thread-safe.
class LatencyHistogram {
 public:
  // Upper bounds of the buckets, in seconds (+Inf is implied).
  static constexpr std::array<double, 14> kUpperBoundsSeconds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  void Observe(double seconds) ABSL_LOCKS_EXCLUDED(mu_);
  HistogramValue Value() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  // Calls per bucket (not cumulative); the last one is above every bound.
  std::array<uint64_t, kUpperBoundsSeconds.size() + 1> counts_ ABSL_GUARDED_BY(mu_) = {};
  double sum_seconds_ ABSL_GUARDED_BY(mu_) = 0;
};

class RpcLatencies {
 public:
  // The histogram of `method` ("/flopwise.v1.UserService/SubmitSweep"),
  // created empty on first use; it lives as long as this object.
  LatencyHistogram* ForMethod(std::string_view method) ABSL_LOCKS_EXCLUDED(mu_);
  // Every method's histogram, by method name.
  std::vector<std::pair<std::string, HistogramValue>> Values() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<LatencyHistogram>, std::less<>> methods_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace flopwise::server
