// Connecting to the coordinator: address, bearer token, optional TLS and the
// per-call deadline. Used by the CLI, the worker daemon and tests.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace flopwise::client {

// Environment variables read when the matching flag is empty.
inline constexpr char kCoordinatorEnv[] = "FLOPWISE_COORDINATOR";
inline constexpr char kTokenFileEnv[] = "FLOPWISE_TOKEN_FILE";
inline constexpr char kTlsCaEnv[] = "FLOPWISE_TLS_CA";

// What a caller passes on its command line (empty: not given).
struct ConnectFlags {
  std::string coordinator;     // HOST:PORT
  std::string token_file;      // file holding the bearer token
  bool tls = false;            // use TLS (implied by a non-empty tls_ca_file)
  std::string tls_ca_file;     // PEM root certificates; empty: the system's roots
  int64_t timeout_ms = 10000;  // deadline of each unary call
};

// Resolved connection settings.
struct ConnectOptions {
  std::string coordinator;
  std::string token;
  bool tls = false;
  std::string tls_ca_pem;  // contents of the CA file, empty for system roots
  int64_t timeout_ms = 10000;
};

// Fills empty flags from FLOPWISE_COORDINATOR / FLOPWISE_TOKEN_FILE /
// FLOPWISE_TLS_CA, reads the token and the CA file. InvalidArgument naming the
// flag when the coordinator or the token file is given nowhere.
absl::StatusOr<ConnectOptions> ResolveConnectOptions(const ConnectFlags& flags);

// The same without the token (an empty one), for the calls that need none
// (gRPC health checking): flags.token_file is not read.
absl::StatusOr<ConnectOptions> ResolveTokenlessConnectOptions(const ConnectFlags& flags);

// A channel to options.coordinator (lazy: it connects on the first call).
// Thread-safe.
std::shared_ptr<grpc::Channel> MakeChannel(const ConnectOptions& options);

// Adds `authorization: Bearer <token>` and a deadline of now + timeout_ms.
void PrepareContext(grpc::ClientContext* context, const std::string& token, int64_t timeout_ms);

}  // namespace flopwise::client
