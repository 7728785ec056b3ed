#include "comm/coordinator_key_value_store.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "client/errors.h"

namespace flopwise::comm {
namespace {

// The longest one RendezvousGet waits on the coordinator (it caps the wait
// there too).
constexpr absl::Duration kMaxWaitPerCall = absl::Seconds(30);

absl::Status Problem(std::string_view uri, std::string_view what) {
  return absl::InvalidArgumentError(
      Cat("--rendezvous: '", uri, "' ", what, " (expected grpc://HOST:PORT/RUN_ID/ATTEMPT)"));
}

absl::Status Prefixed(const grpc::Status& status) {
  const absl::Status converted = client::FromGrpc(status);
  return absl::Status(converted.code(), absl::StrCat("rendezvous: ", converted.message()));
}

}  // namespace

std::string CoordinatorRendezvousUri(const CoordinatorRendezvous& rendezvous) {
  return absl::StrCat(kRendezvousScheme, rendezvous.coordinator, "/", rendezvous.run_id, "/",
                      rendezvous.attempt);
}

absl::StatusOr<CoordinatorRendezvous> ParseCoordinatorRendezvousUri(std::string_view uri) {
  if (!uri.starts_with(kRendezvousScheme)) return Problem(uri, "does not start with grpc://");
  const std::vector<std::string> parts =
      absl::StrSplit(std::string(uri.substr(std::string_view(kRendezvousScheme).size())), '/');
  if (parts.size() != 3 || parts[0].empty()) {
    return Problem(uri, "is not an address, a run id and an attempt");
  }
  CoordinatorRendezvous rendezvous;
  rendezvous.coordinator = std::string(parts[0]);
  if (!absl::SimpleAtoi(parts[1], &rendezvous.run_id) || rendezvous.run_id < 1) {
    return Problem(uri, "has no run id (a positive integer)");
  }
  if (!absl::SimpleAtoi(parts[2], &rendezvous.attempt) || rendezvous.attempt < 1) {
    return Problem(uri, "has no attempt (a positive integer)");
  }
  return rendezvous;
}

CoordinatorKeyValueStore::CoordinatorKeyValueStore(CoordinatorRendezvous rendezvous,
                                                   client::ConnectOptions connect)
    : rendezvous_(std::move(rendezvous)),
      connect_(std::move(connect)),
      stub_(v1::WorkerService::NewStub(client::MakeChannel(connect_))) {}

absl::StatusOr<std::unique_ptr<CoordinatorKeyValueStore>> CoordinatorKeyValueStore::Open(
    std::string_view uri, client::ConnectOptions connect) {
  ASSIGN_OR_RETURN(CoordinatorRendezvous rendezvous, ParseCoordinatorRendezvousUri(uri));
  connect.coordinator = rendezvous.coordinator;
  return std::unique_ptr<CoordinatorKeyValueStore>(
      new CoordinatorKeyValueStore(std::move(rendezvous), std::move(connect)));
}

absl::StatusOr<std::unique_ptr<CoordinatorKeyValueStore>>
CoordinatorKeyValueStore::OpenFromEnvironment(std::string_view uri) {
  ASSIGN_OR_RETURN(const CoordinatorRendezvous rendezvous, ParseCoordinatorRendezvousUri(uri));
  client::ConnectFlags flags;  // the token file and the CA come from the environment
  flags.coordinator = rendezvous.coordinator;
  const char* tls = std::getenv(kTlsEnv);
  flags.tls = tls != nullptr && std::string_view(tls) == "1";
  ASSIGN_OR_RETURN(client::ConnectOptions connect, client::ResolveConnectOptions(flags));
  return Open(uri, std::move(connect));
}

absl::Status CoordinatorKeyValueStore::Set(const std::string& key, const std::string& value) {
  v1::RendezvousSetRequest request;
  request.set_run_id(rendezvous_.run_id);
  request.set_attempt(rendezvous_.attempt);
  request.set_key(key);
  request.set_value(value);
  grpc::ClientContext context;
  client::PrepareContext(&context, connect_.token, connect_.timeout_ms);
  context.set_wait_for_ready(true);  // ride out a coordinator that is restarting
  v1::RendezvousSetResponse response;
  const grpc::Status status = stub_->RendezvousSet(&context, request, &response);
  return status.ok() ? absl::OkStatus() : Prefixed(status);
}

absl::StatusOr<std::string> CoordinatorKeyValueStore::Get(const std::string& key,
                                                          absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  v1::RendezvousGetRequest request;
  request.set_run_id(rendezvous_.run_id);
  request.set_attempt(rendezvous_.attempt);
  request.set_key(key);
  while (true) {
    const absl::Duration wait =
        std::clamp(deadline - absl::Now(), absl::ZeroDuration(), kMaxWaitPerCall);
    request.set_wait_ms(static_cast<int32_t>(absl::ToInt64Milliseconds(wait)));
    grpc::ClientContext context;
    // The call outlives the coordinator's wait by the usual call timeout.
    client::PrepareContext(&context, connect_.token,
                           absl::ToInt64Milliseconds(wait) + connect_.timeout_ms);
    context.set_wait_for_ready(true);
    v1::RendezvousGetResponse response;
    const grpc::Status status = stub_->RendezvousGet(&context, request, &response);
    if (!status.ok()) return Prefixed(status);
    if (response.found()) return response.value();
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "rendezvous: key '", key, "' was not set within ", absl::FormatDuration(timeout),
          " (run ", rendezvous_.run_id, " attempt ", rendezvous_.attempt, ")"));
    }
  }
}

}  // namespace flopwise::comm
