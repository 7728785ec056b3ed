#include "server/submit_limiter.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>

#include "base/str_cat.h"

namespace flopwise::server {
namespace {

constexpr double kMsPerMinute = 60'000;
// Clients remembered before the idle ones are forgotten.
constexpr size_t kForgetAbove = 1'024;

}  // namespace

std::string ClientAddress(std::string_view peer) {
  const size_t scheme = peer.find(':');
  if (scheme == std::string_view::npos || peer.substr(0, scheme) == "unix") {
    return std::string(peer);
  }
  std::string_view address = peer.substr(scheme + 1);
  if (address.starts_with('[')) {  // ipv6:[addr]:port
    const size_t end = address.find(']');
    if (end != std::string_view::npos) return std::string(address.substr(1, end - 1));
  }
  const size_t port = address.rfind(':');
  return std::string(port == std::string_view::npos ? address : address.substr(0, port));
}

SubmitLimiter::SubmitLimiter(int per_minute, Clock clock)
    : per_minute_(per_minute), clock_(std::move(clock)) {}

void SubmitLimiter::RefillLocked(Bucket& bucket, int64_t now_ms) const {
  const double elapsed_ms = static_cast<double>(std::max<int64_t>(0, now_ms - bucket.updated_ms));
  bucket.submissions =
      std::min<double>(per_minute_, bucket.submissions + elapsed_ms * per_minute_ / kMsPerMinute);
  bucket.updated_ms = now_ms;
}

void SubmitLimiter::ForgetIdleLocked(int64_t now_ms) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    RefillLocked(it->second, now_ms);
    it = it->second.submissions >= per_minute_ ? buckets_.erase(it) : std::next(it);
  }
}

absl::Status SubmitLimiter::Admit(std::string_view client) {
  if (per_minute_ <= 0) return absl::OkStatus();
  const int64_t now_ms = clock_();
  absl::MutexLock lock(&mu_);
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= kForgetAbove) ForgetIdleLocked(now_ms);
    it = buckets_.emplace(std::string(client), Bucket{static_cast<double>(per_minute_), now_ms})
             .first;
  }
  Bucket& bucket = it->second;
  RefillLocked(bucket, now_ms);
  if (bucket.submissions >= 1) {
    bucket.submissions -= 1;
    return absl::OkStatus();
  }
  const double wait_ms = (1 - bucket.submissions) * kMsPerMinute / per_minute_;
  const int64_t wait_s = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait_ms / 1000)));
  return absl::ResourceExhaustedError(
      Cat("client ", client, " has submitted ", per_minute_,
          " sweeps within a minute, the coordinator's limit (--max-submits-per-minute ",
          per_minute_, "): retry in ", wait_s, " s"));
}

}  // namespace flopwise::server
