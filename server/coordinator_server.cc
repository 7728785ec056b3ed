#include "server/coordinator_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/synchronization/mutex.h"
#include "base/status_macros.h"
#include "base/str_cat.h"

namespace flopwise::server {
namespace {

constexpr int kMinPollers = 4;
constexpr int kMaxPollers = 32;

absl::StatusOr<std::string> ReadPem(const std::string& path, std::string_view option) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(Cat(option, ": cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

absl::Status ValidateOptions(const CoordinatorOptions& options) {
  if (options.db_path.empty()) return absl::InvalidArgumentError("db: required");
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
                   Scheduler::Create(server->store_.get(), options.scheduler, std::move(clock)));
  server->auth_ = std::make_unique<TokenAuth>(options.client_token, options.worker_token);
  server->user_service_ = std::make_unique<UserServiceImpl>(server->scheduler_.get());
  server->worker_service_ = std::make_unique<WorkerServiceImpl>(server->scheduler_.get(),
                                                                server->options_.checkpoint_root);
  server->authorized_user_service_ = std::make_unique<AuthorizedService>(
      v1::UserService::service_full_name(), server->user_service_.get(), server->auth_.get());
  server->authorized_worker_service_ = std::make_unique<AuthorizedService>(
      v1::WorkerService::service_full_name(), server->worker_service_.get(), server->auth_.get());

  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!options.tls_cert_path.empty()) {
    grpc::SslServerCredentialsOptions ssl;
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    ASSIGN_OR_RETURN(pair.private_key, ReadPem(options.tls_key_path, "tls-key"));
    ASSIGN_OR_RETURN(pair.cert_chain, ReadPem(options.tls_cert_path, "tls-cert"));
    ssl.pem_key_cert_pairs.push_back(std::move(pair));
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
  server->reaper_ = std::thread([raw = server.get()] { raw->ReapLoop(); });
  spdlog::info("coordinator listening on {} (port {}), db {}, checkpoints {}{}", options.listen,
               server->port_, options.db_path, server->options_.checkpoint_root,
               options.tls_cert_path.empty() ? "" : ", TLS");
  return server;
}

void CoordinatorServer::ReapLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      const absl::Time deadline = absl::Now() + absl::Milliseconds(options_.reap_interval_ms);
      while (!stopped_) {
        if (stop_cv_.WaitWithDeadline(&mu_, deadline)) break;  // the interval is over
      }
      if (stopped_) return;
    }
    auto expired = scheduler_->ReapExpiredLeases();
    if (!expired.ok()) spdlog::error("lease reaper: {}", expired.status().ToString());
    absl::Status stored = scheduler_->StoreLiveness();
    if (!stored.ok()) spdlog::error("storing lease deadlines: {}", stored.ToString());
  }
}

void CoordinatorServer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    stop_cv_.SignalAll();
  }
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
