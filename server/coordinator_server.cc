#include "server/coordinator_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "absl/synchronization/mutex.h"
#include "base/repeated_error_log.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "server/dashboard_http.h"
#include "server/listen_address.h"
#include "server/tls_files.h"

namespace flopwise::server {
namespace {

constexpr int kMinPollers = 4;
constexpr int kMaxPollers = 32;
// How often the reaper repeats an error that lasts (a full disk).
constexpr absl::Duration kRepeatedErrorInterval = absl::Minutes(1);

}  // namespace

absl::Status ValidateOptions(const CoordinatorOptions& options) {
  if (options.db_path.empty()) return absl::InvalidArgumentError("db: required");
  RETURN_IF_ERROR(ParseListenAddress(options.listen, "listen").status());
  if (!options.metrics_listen.empty()) {
    ASSIGN_OR_RETURN(const ListenAddress metrics,
                     ParseListenAddress(options.metrics_listen, "metrics-listen"));
    if (metrics.unix_socket) {
      return absl::InvalidArgumentError("metrics-listen: must be HOST:PORT (no unix socket)");
    }
  }
  if (options.client_token.empty()) return absl::InvalidArgumentError("client token: empty");
  if (options.worker_token.empty()) return absl::InvalidArgumentError("worker token: empty");
  if (options.client_token == options.worker_token) {
    return absl::InvalidArgumentError("worker token: must differ from the client token");
  }
  if (options.tls_cert_path.empty() != options.tls_key_path.empty()) {
    return absl::InvalidArgumentError("tls: --tls-cert and --tls-key go together");
  }
  if (options.scheduler.lease_duration_ms <= 0) {
    return absl::InvalidArgumentError("lease-seconds: must be positive");
  }
  if (options.scheduler.heartbeat_interval_ms <= 0 ||
      options.scheduler.heartbeat_interval_ms >= options.scheduler.lease_duration_ms) {
    return absl::InvalidArgumentError(
        "heartbeat interval: must be positive and shorter than the lease");
  }
  if (options.max_receive_bytes < 1024) {
    return absl::InvalidArgumentError("max-receive-bytes: must be at least 1024");
  }
  if (options.submit_limits.max_submits_per_minute < 0) {
    return absl::InvalidArgumentError("max-submits-per-minute: must be >= 0 (0: no limit)");
  }
  if (options.submit_limits.max_runs_per_sweep < 1 ||
      options.submit_limits.max_runs_per_sweep > kMaxRunsPerSweep) {
    return absl::InvalidArgumentError(
        Cat("max-runs-per-sweep: must be in [1, ", kMaxRunsPerSweep, "]"));
  }
  return absl::OkStatus();
}

CoordinatorServer::CoordinatorServer(const CoordinatorOptions& options) : options_(options) {}

absl::StatusOr<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Start(
    const CoordinatorOptions& options, Clock clock) {
  RETURN_IF_ERROR(ValidateOptions(options));
  std::unique_ptr<CoordinatorServer> server(new CoordinatorServer(options));
  if (server->options_.checkpoint_root.empty()) {
    server->options_.checkpoint_root =
        (std::filesystem::absolute(options.db_path).parent_path() / "checkpoints").string();
  }
  std::error_code error;
  std::filesystem::create_directories(server->options_.checkpoint_root, error);
  if (error) {
    return absl::FailedPreconditionError(Cat("checkpoint-root: cannot create ",
                                             server->options_.checkpoint_root, ": ",
                                             error.message()));
  }
  auto store = db::Store::Open(options.db_path);
  if (!store.ok()) return store.status();  // "db: open PATH: cause"
  server->store_ = std::move(*store);
  ASSIGN_OR_RETURN(server->scheduler_,
                   Scheduler::Create(server->store_.get(), options.scheduler, clock));
  server->auth_ = std::make_unique<TokenAuth>(options.client_token, options.worker_token);
  server->user_service_ = std::make_unique<UserServiceImpl>(
      server->scheduler_.get(), options.submit_limits, std::move(clock));
  server->worker_service_ = std::make_unique<WorkerServiceImpl>(server->scheduler_.get(),
                                                                server->options_.checkpoint_root);
  server->latencies_ = std::make_unique<RpcLatencies>();
  server->authorized_user_service_ = std::make_unique<AuthorizedService>(
      v1::UserService::service_full_name(), server->user_service_.get(), server->auth_.get(),
      server->latencies_.get());
  server->authorized_worker_service_ = std::make_unique<AuthorizedService>(
      v1::WorkerService::service_full_name(), server->worker_service_.get(), server->auth_.get(),
      server->latencies_.get());

  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!options.tls_cert_path.empty()) {
    grpc::SslServerCredentialsOptions ssl;
    ASSIGN_OR_RETURN(TlsPem pem, LoadTlsFiles(options.tls_cert_path, options.tls_key_path));
    ssl.pem_key_cert_pairs.push_back({std::move(pem.private_key), std::move(pem.cert_chain)});
    credentials = grpc::SslServerCredentials(ssl);
  }
  // This Abseil is built with its debug checks, which track every lock of
  // every absl::Mutex (gRPC's) in a deadlock-detection graph; that costs a few
  // percent of each call and finds nothing gRPC's own tests would not.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // One server per port: without this a second coordinator could share the port.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(options.listen, credentials, &server->port_);
  builder.SetMaxReceiveMessageSize(options.max_receive_bytes);
  // gRPC's sync server starts a thread when every poller is busy and ends one
  // when more than MAX_POLLERS are idle; the default (1..2) creates and
  // destroys a thread for most calls under a burst of workers.
  builder.SetSyncServerOption(grpc::ServerBuilder::MIN_POLLERS, kMinPollers);
  builder.SetSyncServerOption(grpc::ServerBuilder::MAX_POLLERS, kMaxPollers);
  builder.RegisterService(server->authorized_user_service_.get());
  builder.RegisterService(server->authorized_worker_service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    server->server_.reset();
    return absl::UnavailableError(
        Cat("listen: cannot listen on ", options.listen, " (address in use or not permitted)"));
  }
  if (grpc::HealthCheckServiceInterface* health = server->server_->GetHealthCheckService()) {
    health->SetServingStatus("flopwise.v1.UserService", true);
    health->SetServingStatus("flopwise.v1.WorkerService", true);
  }
  if (!options.metrics_listen.empty()) RETURN_IF_ERROR(server->ServeMetrics());
  server->reaper_ = std::thread([raw = server.get()] { raw->ReapLoop(); });
  spdlog::info("coordinator listening on {} (port {}), db {}, checkpoints {}{}", options.listen,
               server->port_, options.db_path, server->options_.checkpoint_root,
               options.tls_cert_path.empty() ? "" : ", TLS");
  return server;
}

absl::Status CoordinatorServer::ServeMetrics() {
  metrics_ =
      std::make_unique<CoordinatorMetrics>(scheduler_.get(), options_.db_path, latencies_.get());
  auto page = [metrics = metrics_.get()] {
    absl::StatusOr<std::string> text = metrics->Render();
    if (!text.ok()) return HttpResponse{.status = 500, .body = text.status().ToString()};
    return HttpResponse{.content_type = kPrometheusContentType, .body = *std::move(text)};
  };
  dashboard_ = std::make_unique<DashboardApi>(user_service_.get(), auth_.get());
  const HttpServerOptions http{
      .listen = options_.metrics_listen,
      .flag = "metrics-listen",
      .tls_cert_path = options_.tls_cert_path,
      .tls_key_path = options_.tls_key_path,
      .mount_self_checked =
          [api = dashboard_.get()](httplib::Server* server) { MountDashboard(api, server); },
      .self_checked_prefixes = {kDashboardPagesPrefix, kDashboardApiPrefix}};
  ASSIGN_OR_RETURN(http_, HttpServer::Start(http, auth_.get(), {HttpRoute{"/metrics", page}}));
  return absl::OkStatus();
}

void CoordinatorServer::ReapLoop() {
  // The loop runs every reap interval; a full disk fails every pass.
  RepeatedErrorLog reap_errors("lease reaper", kRepeatedErrorInterval);
  RepeatedErrorLog store_errors("storing lease deadlines", kRepeatedErrorInterval);
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      const absl::Time deadline = absl::Now() + absl::Milliseconds(options_.reap_interval_ms);
      while (!stopped_) {
        if (stop_cv_.WaitWithDeadline(&mu_, deadline)) break;  // the interval is over
      }
      if (stopped_) return;
    }
    reap_errors.Log(scheduler_->ReapExpiredLeases().status());
    store_errors.Log(scheduler_->StoreLiveness());
  }
}

void CoordinatorServer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    stop_cv_.SignalAll();
  }
  http_.reset();
  if (scheduler_) scheduler_->Shutdown();
  if (reaper_.joinable()) reaper_.join();
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_->Wait();
    server_.reset();
    spdlog::info("coordinator stopped");
  }
  if (scheduler_) {
    absl::Status stored = scheduler_->StoreLiveness();
    if (!stored.ok()) spdlog::error("storing lease deadlines: {}", stored.ToString());
  }
  scheduler_.reset();
  store_.reset();
}

void CoordinatorServer::Wait() {
  absl::MutexLock lock(&mu_);
  while (!stopped_) stop_cv_.Wait(&mu_);
}

CoordinatorServer::~CoordinatorServer() { Stop(); }

}  // namespace flopwise::server
