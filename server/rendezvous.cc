#include "server/rendezvous.h"

#include <algorithm>

#include "base/str_cat.h"

namespace flopwise::server {
namespace {

absl::Status NotOpen(int64_t run_id, int attempt) {
  return absl::FailedPreconditionError(
      Cat("run ", run_id, " attempt ", attempt, " is not an active data-parallel attempt"));
}

}  // namespace

void RendezvousTable::Open(int64_t run_id, int attempt) {
  absl::MutexLock lock(&mu_);
  scopes_.try_emplace(ScopeKey{run_id, attempt});
}

void RendezvousTable::Close(int64_t run_id, int attempt) {
  absl::MutexLock lock(&mu_);
  if (scopes_.erase(ScopeKey{run_id, attempt}) > 0) changed_.SignalAll();
}

absl::Status RendezvousTable::Set(int64_t run_id, int attempt, const std::string& key,
                                  std::string value) {
  if (key.empty() || key.size() > kMaxRendezvousKeyBytes) {
    return absl::InvalidArgumentError(
        Cat("key: must be 1 to ", kMaxRendezvousKeyBytes, " bytes (got ", key.size(), ")"));
  }
  if (value.size() > kMaxRendezvousValueBytes) {
    return absl::InvalidArgumentError(
        Cat("value: at most ", kMaxRendezvousValueBytes, " bytes (got ", value.size(), ")"));
  }
  absl::MutexLock lock(&mu_);
  auto scope = scopes_.find(ScopeKey{run_id, attempt});
  if (scope == scopes_.end()) return NotOpen(run_id, attempt);
  Scope& held = scope->second;
  auto it = held.values.find(key);
  if (it != held.values.end()) {
    if (it->second == value) return absl::OkStatus();
    return absl::FailedPreconditionError(
        Cat("key: '", key, "' is already set to another value (ranks never overwrite)"));
  }
  const size_t bytes = key.size() + value.size();
  if (held.values.size() >= kMaxRendezvousKeys || held.bytes + bytes > kMaxRendezvousScopeBytes) {
    return absl::ResourceExhaustedError(
        Cat("run ", run_id, " attempt ", attempt, ": the rendezvous holds its most keys (",
            kMaxRendezvousKeys, ") or bytes (", kMaxRendezvousScopeBytes, ")"));
  }
  held.bytes += bytes;
  held.values.emplace(key, std::move(value));
  changed_.SignalAll();
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> RendezvousTable::Get(int64_t run_id, int attempt,
                                                                const std::string& key,
                                                                absl::Duration wait) {
  if (key.empty() || key.size() > kMaxRendezvousKeyBytes) {
    return absl::InvalidArgumentError(
        Cat("key: must be 1 to ", kMaxRendezvousKeyBytes, " bytes (got ", key.size(), ")"));
  }
  const absl::Time deadline =
      absl::Now() + std::clamp(wait, absl::ZeroDuration(), kMaxRendezvousWait);
  absl::MutexLock lock(&mu_);
  while (true) {
    if (shutdown_) return absl::UnavailableError("the coordinator is stopping");
    auto scope = scopes_.find(ScopeKey{run_id, attempt});
    if (scope == scopes_.end()) return NotOpen(run_id, attempt);
    auto it = scope->second.values.find(key);
    if (it != scope->second.values.end()) return it->second;
    if (changed_.WaitWithDeadline(&mu_, deadline)) return std::nullopt;  // timed out
  }
}

void RendezvousTable::Shutdown() {
  absl::MutexLock lock(&mu_);
  shutdown_ = true;
  changed_.SignalAll();
}

}  // namespace flopwise::server
