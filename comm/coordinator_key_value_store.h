// CoordinatorKeyValueStore: the KeyValueStore of a data-parallel run the
// coordinator gang-scheduled (docs/distributed.md): the keys live on the
// coordinator in the scope of the run's attempt, behind the worker API's
// RendezvousSet and RendezvousGet, so the ranks need no shared file system.
//
// The worker starts each rank with `--rendezvous grpc://HOST:PORT/<run_id>/
// <attempt>` (HOST:PORT: the coordinator as the worker reaches it) and the
// connection's secrets in the environment, never on the command line:
// FLOPWISE_TOKEN_FILE, a 0600 file holding the worker token; FLOPWISE_TLS_CA,
// the CA file when the worker connects with TLS and its own CA; and
// FLOPWISE_TLS=1 for TLS with the system's roots.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "client/channel.h"
#include "comm/key_value_store.h"
#include "flopwise/v1/worker_service.grpc.pb.h"

namespace flopwise::comm {

inline constexpr char kRendezvousScheme[] = "grpc://";
// Set to 1 by the worker when it connects with TLS (FLOPWISE_TLS_CA names
// its CA file when it has one).
inline constexpr char kTlsEnv[] = "FLOPWISE_TLS";

// Where a rendezvous URI points: the coordinator and the attempt's scope.
struct CoordinatorRendezvous {
  std::string coordinator;  // HOST:PORT
  int64_t run_id = 0;
  int attempt = 0;
};

// "grpc://HOST:PORT/<run_id>/<attempt>".
std::string CoordinatorRendezvousUri(const CoordinatorRendezvous& rendezvous);
// InvalidArgument "--rendezvous: ..." naming what is wrong with `uri`.
absl::StatusOr<CoordinatorRendezvous> ParseCoordinatorRendezvousUri(std::string_view uri);

// Thread-safe.
class CoordinatorKeyValueStore final : public KeyValueStore {
 public:
  // A store on the coordinator and scope of `uri`, with `connect`'s token,
  // TLS and per-call timeout (its coordinator is replaced by the URI's). The
  // channel connects on the first call.
  static absl::StatusOr<std::unique_ptr<CoordinatorKeyValueStore>> Open(
      std::string_view uri, client::ConnectOptions connect);
  // As Open, with the token and TLS read from the environment the worker
  // gives its trainer (above); InvalidArgument naming the variable when the
  // token file is not given.
  static absl::StatusOr<std::unique_ptr<CoordinatorKeyValueStore>> OpenFromEnvironment(
      std::string_view uri);

  // Errors from the coordinator keep their code, prefixed "rendezvous: ":
  // FailedPrecondition when the attempt has ended or the key holds another
  // value, InvalidArgument over the size limits.
  absl::Status Set(const std::string& key, const std::string& value) override;
  // Asks the coordinator, each call waiting at most 30 s there, until the key
  // is set or `timeout` passes: then DeadlineExceeded naming the key.
  absl::StatusOr<std::string> Get(const std::string& key, absl::Duration timeout) override;

 private:
  CoordinatorKeyValueStore(CoordinatorRendezvous rendezvous, client::ConnectOptions connect);

  const CoordinatorRendezvous rendezvous_;
  const client::ConnectOptions connect_;
  const std::unique_ptr<v1::WorkerService::Stub> stub_;
};

}  // namespace flopwise::comm
