// Bearer-token authentication of the two services: `authorization: Bearer
// <token>` metadata, a client token for UserService and a worker token for
// WorkerService (method_roles.h says which method needs which, and
// AuthorizedService checks every call). Thread-safe (immutable).
#pragma once

#include <grpcpp/server_context.h>

#include <string>
#include <string_view>

namespace flopwise::server {

enum class Role { kClient, kWorker };

class TokenAuth {
 public:
  // Both tokens must be non-empty and different (CoordinatorOptions checks).
  TokenAuth(std::string client_token, std::string worker_token);

  // OK when the call carries `role`'s token; UNAUTHENTICATED when the header
  // is missing or the token unknown; PERMISSION_DENIED for the other role's token.
  grpc::Status Check(const grpc::ServerContextBase& context, Role role) const;
  // As Check, for the value of an `authorization` header (HTTP's included).
  grpc::Status CheckHeader(std::string_view authorization, Role role) const;

 private:
  std::string client_token_;
  std::string worker_token_;
};

}  // namespace flopwise::server
