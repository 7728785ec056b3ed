#include "server/http_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "base/str_cat.h"
#include "server/listen_address.h"

namespace flopwise::server {
namespace {

constexpr int kThreads = 4;
constexpr time_t kReadTimeoutSeconds = 10;

// The token check as an HTTP answer: nullopt when the request may go on.
std::optional<HttpResponse> Refusal(const httplib::Request& request, const TokenAuth& auth) {
  const grpc::Status verdict =
      auth.CheckHeader(request.get_header_value("Authorization"), Role::kClient);
  if (verdict.ok()) return std::nullopt;
  if (verdict.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
    return HttpResponse{.status = 403, .body = "the worker token cannot read this page\n"};
  }
  return HttpResponse{.status = 401,
                      .body = "send the client token as 'Authorization: Bearer <token>'\n"};
}

void Send(const HttpResponse& answer, httplib::Response& response) {
  response.status = answer.status;
  if (answer.status == 401) response.set_header("WWW-Authenticate", "Bearer");
  response.set_content(answer.body, answer.content_type.c_str());
}

}  // namespace

class HttpServer::Impl {
 public:
  ~Impl() {
    if (server_ != nullptr) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  absl::Status Start(const ListenAddress& address, const HttpServerOptions& options,
                     const TokenAuth* auth, std::vector<HttpRoute> routes) {
    if (options.tls_cert_path.empty()) {
      server_ = std::make_unique<httplib::Server>();
    } else {
      server_ = std::make_unique<httplib::SSLServer>(options.tls_cert_path.c_str(),
                                                     options.tls_key_path.c_str());
    }
    if (!server_->is_valid()) {
      return absl::InvalidArgumentError(Cat(options.flag, ": cannot load the TLS certificate ",
                                            options.tls_cert_path, " and key ",
                                            options.tls_key_path));
    }
    // httplib sets SO_REUSEPORT, which would let a second coordinator share
    // the port; SO_REUSEADDR alone still allows a quick restart.
    server_->set_socket_options([](socket_t sock) {
      const int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    server_->new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
    server_->set_read_timeout(kReadTimeoutSeconds, 0);
    server_->set_pre_routing_handler(
        [auth, open = options.self_checked_prefixes](const httplib::Request& request,
                                                     httplib::Response& response) {
          for (const std::string& prefix : open) {
            if (request.path.starts_with(prefix))
              return httplib::Server::HandlerResponse::Unhandled;
          }
          std::optional<HttpResponse> refusal = Refusal(request, *auth);
          if (!refusal) return httplib::Server::HandlerResponse::Unhandled;
          Send(*refusal, response);
          return httplib::Server::HandlerResponse::Handled;
        });
    for (HttpRoute& route : routes) {
      server_->Get(route.path, [handler = std::move(route.handler)](const httplib::Request&,
                                                                    httplib::Response& response) {
        Send(handler(), response);
      });
    }
    if (options.mount_self_checked) options.mount_self_checked(server_.get());
    server_->set_logger([](const httplib::Request& request, const httplib::Response& response) {
      spdlog::debug("http: {} {} from {}: {}", request.method, request.path, request.remote_addr,
                    response.status);
    });
    port_ = address.port == 0
                ? server_->bind_to_any_port(address.host)
                : (server_->bind_to_port(address.host, address.port) ? address.port : -1);
    if (port_ <= 0) {
      return absl::UnavailableError(Cat(options.flag, ": cannot listen on ", options.listen,
                                        " (address in use or not permitted)"));
    }
    thread_ = std::thread([this] {
      server_->listen_after_bind();
      listen_returned_ = true;
    });
    // stop() before the loop runs would be lost, and the destructor would wait forever.
    while (!server_->is_running() && !listen_returned_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (listen_returned_) {
      return absl::UnavailableError(Cat(options.flag, ": cannot serve on ", options.listen));
    }
    return absl::OkStatus();
  }

  int port() const { return port_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> listen_returned_ = false;
  int port_ = 0;
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                              const TokenAuth* auth,
                                                              std::vector<HttpRoute> routes) {
  absl::StatusOr<ListenAddress> address = ParseListenAddress(options.listen, options.flag);
  if (!address.ok()) return address.status();
  if (address->unix_socket) {
    return absl::InvalidArgumentError(Cat(options.flag, ": must be HOST:PORT (no unix socket)"));
  }
  auto impl = std::make_unique<Impl>();
  if (absl::Status started = impl->Start(*address, options, auth, std::move(routes));
      !started.ok()) {
    return started;
  }
  spdlog::info("{} pages ({}) on {} (port {})", options.tls_cert_path.empty() ? "HTTP" : "HTTPS",
               options.flag, options.listen, impl->port());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;

int HttpServer::port() const { return impl_->port(); }

}  // namespace flopwise::server
