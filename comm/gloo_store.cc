#include "comm/gloo_store.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "gloo/common/error.h"

namespace flopwise::comm {

void GlooStore::Throw(absl::Status status) {
  if (error_.ok()) error_ = status;
  throw gloo::IoException(std::string(status.message()));
}

void GlooStore::set(const std::string& key, const std::vector<char>& data) {
  absl::Status s = store_.Set(prefix_ + key, std::string(data.begin(), data.end()));
  if (!s.ok()) Throw(std::move(s));
}

std::vector<char> GlooStore::get(const std::string& key) {
  absl::StatusOr<std::string> value = store_.Get(prefix_ + key, timeout_);
  if (!value.ok()) Throw(value.status());
  return std::vector<char>(value->begin(), value->end());
}

void GlooStore::wait(const std::vector<std::string>& keys) {
  wait(keys, absl::ToChronoMilliseconds(timeout_));
}

void GlooStore::wait(const std::vector<std::string>& keys,
                     const std::chrono::milliseconds& timeout) {
  // Gloo's "no timeout" (0) and an unset one (< 0) get this store's.
  const absl::Duration limit = timeout.count() > 0 ? absl::FromChrono(timeout) : timeout_;
  const absl::Time deadline = absl::Now() + limit;
  for (const std::string& key : keys) {
    absl::StatusOr<std::string> value =
        store_.Get(prefix_ + key, std::max(absl::ZeroDuration(), deadline - absl::Now()));
    if (!value.ok()) Throw(value.status());
  }
}

}  // namespace flopwise::comm
