#include "client/channel.h"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "base/token_file.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace flopwise::client {
namespace {

absl::StatusOr<std::string> ReadWholeFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    std::string message =
        absl::StrCat(std::string(what), " ", path, ": cannot open: ", std::strerror(err));
    if (err == EACCES) return absl::PermissionDeniedError(message);
    return absl::NotFoundError(message);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string FromEnv(const std::string& flag_value, const char* env_name) {
  if (!flag_value.empty()) return flag_value;
  const char* value = std::getenv(env_name);
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

absl::StatusOr<ConnectOptions> ResolveConnectOptions(const ConnectFlags& flags) {
  ASSIGN_OR_RETURN(ConnectOptions options, ResolveTokenlessConnectOptions(flags));
  const std::string token_file = FromEnv(flags.token_file, kTokenFileEnv);
  if (token_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--token-file: not given (nor ", kTokenFileEnv, ")"));
  }
  ASSIGN_OR_RETURN(options.token, ReadTokenFile(token_file, "--token-file"));
  return options;
}

absl::StatusOr<ConnectOptions> ResolveTokenlessConnectOptions(const ConnectFlags& flags) {
  ConnectOptions options;
  options.coordinator = FromEnv(flags.coordinator, kCoordinatorEnv);
  if (options.coordinator.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--coordinator: not given (nor ", kCoordinatorEnv, ")"));
  }
  const std::string ca_file = FromEnv(flags.tls_ca_file, kTlsCaEnv);
  options.tls = flags.tls || !ca_file.empty();
  if (!ca_file.empty()) {
    ASSIGN_OR_RETURN(options.tls_ca_pem, ReadWholeFile(ca_file, "TLS CA file"));
  }
  if (flags.timeout_ms <= 0) return absl::InvalidArgumentError("--timeout-ms: must be positive");
  options.timeout_ms = flags.timeout_ms;
  return options;
}

std::shared_ptr<grpc::Channel> MakeChannel(const ConnectOptions& options) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.tls_ca_pem;
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  grpc::ChannelArguments args;
  // Reconnect quickly after a coordinator restart.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  return grpc::CreateCustomChannel(options.coordinator, credentials, args);
}

void PrepareContext(grpc::ClientContext* context, const std::string& token, int64_t timeout_ms) {
  context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
}

}  // namespace flopwise::client
