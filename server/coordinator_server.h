// CoordinatorServer: the coordinator daemon as an object (flopwise-coordinator
// is a thin main() over it; tests start it on an ephemeral loopback port).
// Owns the store, the scheduler, both gRPC services behind token checks (plus
// health checking and reflection, which are open) and the lease reaper thread, which also writes
// heartbeats behind (Scheduler::StoreLiveness); and, with metrics_listen, the
// HTTP port of /metrics and the dashboard behind the client token.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/server.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "db/store.h"
#include "server/auth.h"
#include "server/authorized_service.h"
#include "server/coordinator_metrics.h"
#include "server/dashboard_api.h"
#include "server/http_server.h"
#include "server/rpc_latencies.h"
#include "server/scheduler.h"
#include "server/user_service.h"
#include "server/worker_service.h"

namespace flopwise::server {

struct CoordinatorOptions {
  std::string listen = "127.0.0.1:7450";  // HOST:PORT; port 0 picks a free one
  // HOST:PORT of the HTTP port serving /metrics and the dashboard; empty: none.
  std::string metrics_listen;
  std::string db_path;
  std::string checkpoint_root;  // empty: "checkpoints" beside the database
  std::string client_token;     // UserService bearer token
  std::string worker_token;     // WorkerService bearer token
  std::string tls_cert_path;    // PEM; with tls_key_path, serve TLS
  std::string tls_key_path;
  int max_receive_bytes = 16 << 20;  // larger requests fail with RESOURCE_EXHAUSTED
  SubmitLimits submit_limits;        // and SchedulerOptions::max_pending_runs
  // How often expired leases are looked for and heartbeats written behind.
  int64_t reap_interval_ms = 1'000;
  SchedulerOptions scheduler;
};

// InvalidArgument naming the option when `options` cannot work (empty or equal
// tokens, a TLS key without a certificate, non-positive durations, limits out
// of range).
absl::Status ValidateOptions(const CoordinatorOptions& options);

class CoordinatorServer {
 public:
  // Opens the database, recovers the scheduler's state, creates the checkpoint
  // root and starts serving. Errors name the cause in one line: "db: ...",
  // "listen: cannot listen on HOST:PORT (in use or not permitted)", ...
  static absl::StatusOr<std::unique_ptr<CoordinatorServer>> Start(const CoordinatorOptions& options,
                                                                  Clock clock = SystemNowMs);
  ~CoordinatorServer();  // Stop()
  CoordinatorServer(const CoordinatorServer&) = delete;
  CoordinatorServer& operator=(const CoordinatorServer&) = delete;

  // Stops serving (in-flight calls get two seconds), stops the reaper and
  // closes the database. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until Stop() has been called from another thread.
  void Wait() ABSL_LOCKS_EXCLUDED(mu_);

  int port() const { return port_; }
  // The HTTP port of /metrics; 0 without metrics_listen (or once stopped).
  int metrics_port() const { return http_ ? http_->port() : 0; }
  const std::string& checkpoint_root() const { return options_.checkpoint_root; }
  Scheduler* scheduler() { return scheduler_.get(); }

 private:
  explicit CoordinatorServer(const CoordinatorOptions& options);
  void ReapLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // Starts http_ on options_.metrics_listen.
  absl::Status ServeMetrics();

  CoordinatorOptions options_;
  std::unique_ptr<db::Store> store_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<TokenAuth> auth_;
  std::unique_ptr<UserServiceImpl> user_service_;
  std::unique_ptr<WorkerServiceImpl> worker_service_;
  std::unique_ptr<RpcLatencies> latencies_;  // filled by the two services below
  // What the server serves: the two services above behind `auth_`.
  std::unique_ptr<AuthorizedService> authorized_user_service_;
  std::unique_ptr<AuthorizedService> authorized_worker_service_;
  std::unique_ptr<CoordinatorMetrics> metrics_;
  std::unique_ptr<DashboardApi> dashboard_;  // served by http_ beside metrics_
  std::unique_ptr<HttpServer> http_;         // serves metrics_; null without metrics_listen
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;

  absl::Mutex mu_;
  absl::CondVar stop_cv_;  // signalled when stopped_ is set
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::thread reaper_;
};

}  // namespace flopwise::server
