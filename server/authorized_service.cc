#include "server/authorized_service.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/impl/rpc_service_method.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <utility>

#include "server/method_roles.h"

namespace flopwise::server {
namespace {

grpc::internal::RpcMethod::RpcType RpcTypeOf(const google::protobuf::MethodDescriptor& method) {
  if (method.client_streaming()) {
    return method.server_streaming() ? grpc::internal::RpcMethod::BIDI_STREAMING
                                     : grpc::internal::RpcMethod::CLIENT_STREAMING;
  }
  return method.server_streaming() ? grpc::internal::RpcMethod::SERVER_STREAMING
                                   : grpc::internal::RpcMethod::NORMAL_RPC;
}

// Runs `inner` (a generated handler) when the caller holds the method's token,
// and times the call (refused or not) into `latency` unless it is null.
class AuthorizingHandler final : public grpc::internal::MethodHandler {
 public:
  AuthorizingHandler(grpc::internal::MethodHandler* inner, std::string_view method,
                     const TokenAuth* auth, LatencyHistogram* latency)
      : inner_(inner),
        required_(RequiredRole(method)),
        method_(method),
        auth_(auth),
        latency_(latency) {}

  void RunHandler(const HandlerParameter& param) override {
    const auto start = std::chrono::steady_clock::now();
    AuthorizeAndRun(param);
    if (latency_ != nullptr) {
      latency_->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  }

  void* Deserialize(grpc_call* call, grpc_byte_buffer* request, grpc::Status* status,
                    void** handler_data) override {
    return inner_->Deserialize(call, request, status, handler_data);
  }

 private:
  void AuthorizeAndRun(const HandlerParameter& param) {
    grpc::Status verdict = required_.has_value()
                               ? auth_->Check(*param.server_context, *required_)
                               : grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                              method_ + ": no token may call this method");
    if (verdict.ok()) {
      inner_->RunHandler(param);
      return;
    }
    // The generated handler destroys the request only when it calls the
    // method (a request that failed to parse is already gone); every request
    // of these services is a protobuf message.
    if (param.status.ok() && param.request != nullptr) {
      static_cast<google::protobuf::Message*>(param.request)->~Message();
    }
    inner_->RunHandler(HandlerParameter(param.call, param.server_context, nullptr,
                                        std::move(verdict), param.internal_data,
                                        param.call_requester));
  }

  grpc::internal::MethodHandler* const inner_;
  const std::optional<Role> required_;
  const std::string method_;
  const TokenAuth* const auth_;
  LatencyHistogram* const latency_;
};

}  // namespace

AuthorizedService::AuthorizedService(
    std::string_view service_name,
    const std::function<grpc::internal::MethodHandler*(int)>& handler, const TokenAuth* auth,
    RpcLatencies* latencies) {
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          std::string(service_name));
  if (service == nullptr) {
    // A programming error: the name comes from the generated code.
    spdlog::critical("AuthorizedService: unknown service {}", service_name);
    std::abort();
  }
  for (int i = 0; i < service->method_count(); ++i) {
    const google::protobuf::MethodDescriptor& method = *service->method(i);
    const std::string& name =
        method_names_.emplace_back("/" + service->full_name() + "/" + method.name());
    AddMethod(new grpc::internal::RpcServiceMethod(
        name.c_str(), RpcTypeOf(method),
        new AuthorizingHandler(handler(i), name, auth,
                               latencies == nullptr ? nullptr : latencies->ForMethod(name))));
  }
}

}  // namespace flopwise::server
