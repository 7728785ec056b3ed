// AuthorizedService: every method of a generated gRPC service behind one check
// of the caller's token, so that no handler has to remember it.
//
// gRPC 1.51 has no public hook that can refuse a call before its handler runs
// on a plaintext port: a server interceptor cannot end a call, and an
// AuthMetadataProcessor needs TLS credentials. So AuthorizedService takes the
// place of the generated service in the server: it registers each of the
// service's methods itself, with a handler that checks the token the method
// needs (RequiredRole) and then runs the generated handler. A refused call
// reaches the generated handler with the refusal as its request status, which
// the handler sends as the call's status without calling the method. A method
// missing from the role table is refused whatever the token.
#pragma once

#include <grpcpp/impl/service_type.h>

#include <deque>
#include <functional>
#include <string>
#include <string_view>

#include "server/auth.h"
#include "server/rpc_latencies.h"

namespace flopwise::server {

// A generated service (`v1::UserService::Service`, ...) whose method handlers
// an AuthorizedService can borrow; implementations derive from this instead.
template <typename GeneratedService>
class HandlersOf : public GeneratedService {
 public:
  // The handler of the service's `index`-th method, in the order of the .proto.
  grpc::internal::MethodHandler* handler(int index) { return this->GetHandler(index); }
};

class AuthorizedService final : public grpc::Service {
 public:
  // Serves every method of the service named `service_name` (its full proto
  // name, e.g. "flopwise.v1.UserService") through `implementation`, which is
  // not registered itself, and times every call into `latencies` (by method,
  // "/flopwise.v1.UserService/SubmitSweep") unless it is null.
  // `implementation`, `auth` and `latencies` must outlive this.
  template <typename GeneratedService>
  AuthorizedService(std::string_view service_name, HandlersOf<GeneratedService>* implementation,
                    const TokenAuth* auth, RpcLatencies* latencies = nullptr)
      : AuthorizedService(
            service_name, [implementation](int index) { return implementation->handler(index); },
            auth, latencies) {}

 private:
  AuthorizedService(std::string_view service_name,
                    const std::function<grpc::internal::MethodHandler*(int)>& handler,
                    const TokenAuth* auth, RpcLatencies* latencies);

  std::deque<std::string> method_names_;  // gRPC keeps pointers to them
};

}  // namespace flopwise::server
