#include "server/auth.h"

#include <string_view>
#include <utility>

namespace flopwise::server {
namespace {

// Compares in time independent of where the strings differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

TokenAuth::TokenAuth(std::string client_token, std::string worker_token)
    : client_token_(std::move(client_token)), worker_token_(std::move(worker_token)) {}

grpc::Status TokenAuth::Check(const grpc::ServerContextBase& context, Role role) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "missing 'authorization: Bearer <token>' metadata");
  }
  return CheckHeader(std::string_view(it->second.data(), it->second.size()), role);
}

grpc::Status TokenAuth::CheckHeader(std::string_view header, Role role) const {
  constexpr std::string_view kPrefix = "Bearer ";
  if (!header.starts_with(kPrefix)) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "authorization metadata must be 'Bearer <token>'");
  }
  const std::string_view token = header.substr(kPrefix.size());
  const bool is_client = ConstantTimeEquals(token, client_token_);
  const bool is_worker = ConstantTimeEquals(token, worker_token_);
  if ((role == Role::kClient && is_client) || (role == Role::kWorker && is_worker)) {
    return grpc::Status::OK;
  }
  if (is_client || is_worker) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        role == Role::kClient ? "a worker token cannot call UserService"
                                              : "a client token cannot call WorkerService");
  }
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unknown bearer token");
}

}  // namespace flopwise::server
