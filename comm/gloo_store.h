// Gloo's rendezvous::Store over a KeyValueStore (private to comm/): Gloo
// publishes and reads its transport addresses through it. Gloo's interface
// cannot return errors, so a failed call records its absl::Status and throws;
// the caller catches at the module boundary and returns error().
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "comm/key_value_store.h"
#include "gloo/rendezvous/store.h"

namespace flopwise::comm {

class GlooStore final : public gloo::rendezvous::Store {
 public:
  // Keys are stored as `prefix` + Gloo's key. `timeout` bounds a get() and a
  // wait() without a timeout of its own.
  GlooStore(KeyValueStore& store, std::string prefix, absl::Duration timeout)
      : store_(store), prefix_(std::move(prefix)), timeout_(timeout) {}

  void set(const std::string& key, const std::vector<char>& data) override;
  std::vector<char> get(const std::string& key) override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys,
            const std::chrono::milliseconds& timeout) override;

  // The first error a call ran into (OK when none): what to report instead of
  // the exception Gloo passed on.
  const absl::Status& error() const { return error_; }

 private:
  // Records `status` (keeping the first) and throws gloo::IoException with its message.
  [[noreturn]] void Throw(absl::Status status);

  KeyValueStore& store_;
  const std::string prefix_;
  const absl::Duration timeout_;
  absl::Status error_;
};

}  // namespace flopwise::comm
