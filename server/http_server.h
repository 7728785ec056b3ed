// HttpServer: the coordinator's HTTP port (`--metrics-listen`), which serves
// read-only pages (/metrics; the dashboard, server/dashboard_http.h) behind
// the client token: every request must carry `Authorization: Bearer <client
// token>`, else 401 (403 for the worker token), except under the prefixes of
// routes that check it themselves. Only GET routes; an unknown path is 404.
// HTTPS when given a certificate and key (the coordinator's --tls-cert/--tls-key).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "server/auth.h"

namespace httplib {
class Server;
}

namespace flopwise::server {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct HttpServerOptions {
  std::string listen;         // HOST:PORT or [IPV6]:PORT; port 0 picks a free one
  std::string flag;           // the flag that gave `listen`, named in errors
  std::string tls_cert_path;  // PEM files; both set: serve HTTPS
  std::string tls_key_path;
  // Routes mounted on the cpp-httplib server as they are, which check the
  // token themselves where they need one (the dashboard's pages need none):
  // requests whose path starts with one of `self_checked_prefixes` skip the
  // server's check.
  std::function<void(httplib::Server*)> mount_self_checked;
  std::vector<std::string> self_checked_prefixes;
};

struct HttpRoute {
  std::string path;  // exact, e.g. "/metrics"
  std::function<HttpResponse()> handler;
};

class HttpServer {
 public:
  // Listens on options.listen and serves `routes` on a few threads of its
  // own. `auth` must outlive the server. InvalidArgument naming the flag for
  // a malformed address or TLS files the server cannot load; Unavailable
  // "FLAG: cannot listen on ..." when the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           const TokenAuth* auth,
                                                           std::vector<HttpRoute> routes);
  ~HttpServer();  // stops serving and joins its threads
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace flopwise::server
