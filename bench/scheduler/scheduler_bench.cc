// bench_scheduler: the coordinator under many workers, over real gRPC on
// loopback.
//  1. N simulated workers register, acquire a run each and heartbeat R rounds
//     from T client threads: p50/p99/max latency per call.
//  2. Metric ingest through ReportMetrics (batches of B rows from several
//     leases at once) against its ceiling measured in the same run: bare
//     sqlite3 inserts of the same rows into the same table definition, one
//     transaction per batch.
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "flopwise/v1/user_service.grpc.pb.h"
#include "flopwise/v1/worker_service.grpc.pb.h"
#include "server/coordinator_server.h"

namespace {

namespace fs = std::filesystem;
using flopwise::server::CoordinatorOptions;
using flopwise::server::CoordinatorServer;
namespace v1 = flopwise::v1;
using Clock = std::chrono::steady_clock;

constexpr char kClientToken[] = "bench-client";
constexpr char kWorkerToken[] = "bench-worker";

struct Flags {
  int workers = 1000;
  int rounds = 5;
  int threads = 16;
  int ingest_batches = 200;
  int rows_per_batch = 1000;
  int ingest_threads = 4;
};

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::unique_ptr<grpc::ClientContext> Ctx(const char* token) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", std::string("Bearer ") + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  return context;
}

// Latencies of one kind of call, from many threads.
class Latencies {
 public:
  void Add(double ms) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    ms_.push_back(ms);
  }
  void Print(const char* name) ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<double> ms;
    {
      absl::MutexLock lock(&mu_);
      ms = ms_;
    }
    std::sort(ms.begin(), ms.end());
    if (ms.empty()) return;
    auto at = [&](double q) {
      return ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))];
    };
    std::printf("%-12s calls %7zu   p50 %7.2f ms   p99 %7.2f ms   max %7.2f ms\n", name, ms.size(),
                at(0.50), at(0.99), ms.back());
  }

 private:
  absl::Mutex mu_;
  std::vector<double> ms_ ABSL_GUARDED_BY(mu_);
};

// A sweep of 4 architectures x 7 CPU sizes x 14 contexts = 392 distinct runs,
// with budgets of about 10^12 tokens: the ingest reports steps up to its row
// count, and reports beyond a run's plan are refused.
std::string SweepSpec(int index) {
  return "name: bench-" + std::to_string(index) +
         "\nvocab: 256\ndata: {path: /data/bench}\narchitectures: [llama, tnl, hgrn2, cos2]\n"
         "sizes: [cpu-1, cpu-2, cpu-3, cpu-4, cpu-5, cpu-6, cpu-7]\n"
         "contexts: [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]\n"
         "tokens: " +
         std::to_string(int64_t{1'000'000'000'000} + index) +
         "\nbatch_tokens: 65536\ncheckpoint: {every_tokens: 65536}\n";
}

void Check(const grpc::Status& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "bench_scheduler: %s: %s\n", what, status.error_message().c_str());
    std::exit(1);
  }
}

void CheckSqlite(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE) {
    std::fprintf(stderr, "bench_scheduler: sqlite %s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

// Bare sqlite3: the metrics table of db/ (same columns, key and index, WAL,
// synchronous=NORMAL), INSERT OR IGNORE, one transaction per batch.
double BareSqliteRowsPerSecond(const std::string& path, const Flags& flags) {
  sqlite3* db = nullptr;
  CheckSqlite(sqlite3_open(path.c_str(), &db), db, "open");
  CheckSqlite(sqlite3_exec(db,
                           "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                           "CREATE TABLE metrics (run_id INTEGER NOT NULL, attempt INTEGER NOT "
                           "NULL, seq INTEGER NOT NULL CHECK (seq >= 0), step INTEGER NOT NULL "
                           "CHECK (step >= 0), tokens INTEGER NOT NULL CHECK (tokens >= 0), flops "
                           "REAL, loss REAL, lr REAL, grad_norm REAL, tokens_per_s REAL, "
                           "superseded INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (run_id, attempt, "
                           "seq)) WITHOUT ROWID;"
                           "CREATE INDEX metrics_by_step ON metrics (run_id, step);",
                           nullptr, nullptr, nullptr),
              db, "schema");
  sqlite3_stmt* insert = nullptr;
  CheckSqlite(sqlite3_prepare_v2(db,
                                 "INSERT OR IGNORE INTO metrics (run_id, attempt, seq, step, "
                                 "tokens, flops, loss, lr, grad_norm, tokens_per_s) VALUES "
                                 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                 -1, &insert, nullptr),
              db, "prepare");
  const auto start = Clock::now();
  for (int batch = 0; batch < flags.ingest_batches; ++batch) {
    const int run = batch % flags.ingest_threads + 1;
    const int64_t first_seq =
        static_cast<int64_t>(batch / flags.ingest_threads) * flags.rows_per_batch;
    CheckSqlite(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "begin");
    for (int i = 0; i < flags.rows_per_batch; ++i) {
      const int64_t seq = first_seq + i;
      sqlite3_bind_int64(insert, 1, run);
      sqlite3_bind_int64(insert, 2, 1);
      sqlite3_bind_int64(insert, 3, seq);
      sqlite3_bind_int64(insert, 4, seq);
      sqlite3_bind_int64(insert, 5, seq * 1024);
      sqlite3_bind_double(insert, 6, 1e9 * static_cast<double>(seq));
      sqlite3_bind_double(insert, 7, 5.0);
      sqlite3_bind_double(insert, 8, 3e-4);
      sqlite3_bind_double(insert, 9, 1.0);
      sqlite3_bind_double(insert, 10, 1e5);
      CheckSqlite(sqlite3_step(insert), db, "insert");
      sqlite3_reset(insert);
    }
    CheckSqlite(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return static_cast<double>(flags.ingest_batches) * flags.rows_per_batch / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_scheduler: coordinator latency under many workers, and metric ingest"};
  Flags flags;
  app.add_option("--workers", flags.workers, "simulated workers")->capture_default_str();
  app.add_option("--rounds", flags.rounds, "heartbeats per worker")->capture_default_str();
  app.add_option("--threads", flags.threads, "client threads")->capture_default_str();
  app.add_option("--ingest-batches", flags.ingest_batches, "ReportMetrics calls")
      ->capture_default_str();
  app.add_option("--rows-per-batch", flags.rows_per_batch, "rows per call")->capture_default_str();
  app.add_option("--ingest-threads", flags.ingest_threads, "concurrent reporting leases")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  const fs::path dir =
      fs::temp_directory_path() / ("flopwise-bench-scheduler-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  CoordinatorOptions options;
  options.listen = "127.0.0.1:0";
  options.db_path = (dir / "coordinator.db").string();
  options.client_token = kClientToken;
  options.worker_token = kWorkerToken;
  options.max_receive_bytes = 64 << 20;
  auto server = CoordinatorServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "bench_scheduler: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string((*server)->port()),
                                     grpc::InsecureChannelCredentials());
  auto user = v1::UserService::NewStub(channel);
  int runs = 0;
  for (int i = 0; runs < flags.workers + flags.ingest_threads; ++i) {
    v1::SubmitSweepRequest request;
    request.set_spec_yaml(SweepSpec(i));
    v1::SubmitSweepResponse response;
    Check(user->SubmitSweep(Ctx(kClientToken).get(), request, &response), "SubmitSweep");
    runs += response.runs_size();
  }
  std::printf(
      "bench_scheduler: %d workers, %d heartbeat rounds, %d client threads, %d runs queued\n",
      flags.workers, flags.rounds, flags.threads, runs);

  // ---- 1. Register, acquire, heartbeat ----
  Latencies registers, acquires, heartbeats;
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int t = 0; t < flags.threads; ++t) {
    threads.emplace_back([&, t] {
      auto stub = v1::WorkerService::NewStub(grpc::CreateChannel(
          "127.0.0.1:" + std::to_string((*server)->port()), grpc::InsecureChannelCredentials()));
      struct Sim {
        std::string worker_id;
        v1::Lease lease;
      };
      std::vector<Sim> sims;
      for (int w = t; w < flags.workers; w += flags.threads) {
        v1::RegisterRequest request;
        request.set_hostname("sim-" + std::to_string(w));
        request.set_cpu_cores(8);
        request.set_memory_bytes(int64_t{64} << 30);
        v1::RegisterResponse response;
        const auto begin = Clock::now();
        Check(stub->Register(Ctx(kWorkerToken).get(), request, &response), "Register");
        registers.Add(Ms(Clock::now() - begin));
        sims.push_back({response.worker_id(), {}});
      }
      for (Sim& sim : sims) {
        v1::AcquireRunRequest request;
        request.set_worker_id(sim.worker_id);
        request.set_free_cpu_cores(8);
        request.set_free_memory_bytes(int64_t{64} << 30);
        v1::AcquireRunResponse response;
        const auto begin = Clock::now();
        Check(stub->AcquireRun(Ctx(kWorkerToken).get(), request, &response), "AcquireRun");
        acquires.Add(Ms(Clock::now() - begin));
        sim.lease = response.lease();
      }
      for (int round = 0; round < flags.rounds; ++round) {
        for (Sim& sim : sims) {
          v1::HeartbeatRequest request;
          request.set_worker_id(sim.worker_id);
          if (!sim.lease.lease_id().empty()) {
            v1::LeaseProgress* progress = request.add_leases();
            progress->set_lease_id(sim.lease.lease_id());
            progress->set_attempt(sim.lease.attempt());
            progress->set_step(round);
            progress->set_tokens(int64_t{65536} * round);
          }
          v1::HeartbeatResponse response;
          const auto begin = Clock::now();
          Check(stub->Heartbeat(Ctx(kWorkerToken).get(), request, &response), "Heartbeat");
          heartbeats.Add(Ms(Clock::now() - begin));
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const double phase1_s = std::chrono::duration<double>(Clock::now() - start).count();
  registers.Print("Register");
  acquires.Print("AcquireRun");
  heartbeats.Print("Heartbeat");
  std::printf("phase 1: %.2f s, %.0f calls/s\n", phase1_s,
              flags.workers * (2.0 + flags.rounds) / phase1_s);

  // ---- 2. Ingest: API vs bare sqlite3 ----
  auto worker = v1::WorkerService::NewStub(channel);
  std::vector<v1::Lease> leases;
  for (int i = 0; i < flags.ingest_threads; ++i) {
    v1::RegisterRequest reg;
    reg.set_hostname("ingest");
    reg.set_cpu_cores(8);
    reg.set_memory_bytes(int64_t{64} << 30);
    v1::RegisterResponse registered;
    Check(worker->Register(Ctx(kWorkerToken).get(), reg, &registered), "Register");
    v1::AcquireRunRequest request;
    request.set_worker_id(registered.worker_id());
    request.set_free_cpu_cores(8);
    request.set_free_memory_bytes(int64_t{64} << 30);
    v1::AcquireRunResponse response;
    Check(worker->AcquireRun(Ctx(kWorkerToken).get(), request, &response), "AcquireRun");
    if (!response.has_lease()) {
      std::fprintf(stderr, "bench_scheduler: no run left for ingest\n");
      return 1;
    }
    leases.push_back(response.lease());
  }
  // Requests are built before the clock starts: the figure is the server's.
  std::vector<std::vector<v1::ReportMetricsRequest>> requests(flags.ingest_threads);
  for (int batch = 0; batch < flags.ingest_batches; ++batch) {
    const int lane = batch % flags.ingest_threads;
    v1::ReportMetricsRequest request;
    request.set_lease_id(leases[lane].lease_id());
    request.set_attempt(leases[lane].attempt());
    const int64_t first_seq =
        static_cast<int64_t>(batch / flags.ingest_threads) * flags.rows_per_batch;
    for (int i = 0; i < flags.rows_per_batch; ++i) {
      v1::MetricPoint* point = request.add_rows();
      const int64_t seq = first_seq + i;
      point->set_seq(seq);
      point->set_step(seq);
      point->set_tokens(seq * 1024);
      point->set_flops(1e9 * static_cast<double>(seq));
      point->set_loss(5.0);
      point->set_lr(3e-4);
      point->set_grad_norm(1.0);
      point->set_tokens_per_s(1e5);
    }
    requests[lane].push_back(std::move(request));
  }
  std::atomic<int64_t> rows_new{0};
  threads.clear();
  const auto ingest_start = Clock::now();
  for (int lane = 0; lane < flags.ingest_threads; ++lane) {
    threads.emplace_back([&, lane] {
      auto stub = v1::WorkerService::NewStub(grpc::CreateChannel(
          "127.0.0.1:" + std::to_string((*server)->port()), grpc::InsecureChannelCredentials()));
      for (const v1::ReportMetricsRequest& request : requests[lane]) {
        v1::ReportMetricsResponse response;
        Check(stub->ReportMetrics(Ctx(kWorkerToken).get(), request, &response), "ReportMetrics");
        rows_new += response.rows_new();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const double api_s = std::chrono::duration<double>(Clock::now() - ingest_start).count();
  const int64_t total_rows = int64_t{flags.ingest_batches} * flags.rows_per_batch;
  if (rows_new.load() != total_rows) {
    std::fprintf(stderr, "bench_scheduler: stored %lld of %lld rows\n",
                 static_cast<long long>(rows_new.load()), static_cast<long long>(total_rows));
    return 1;
  }
  const double api_rows_per_s = static_cast<double>(total_rows) / api_s;
  // The ceiling is the best of three fresh files, so the ratio errs low.
  double bare_rows_per_s = 0;
  for (int repeat = 0; repeat < 3; ++repeat) {
    const std::string path = (dir / ("bare-" + std::to_string(repeat) + ".db")).string();
    bare_rows_per_s = std::max(bare_rows_per_s, BareSqliteRowsPerSecond(path, flags));
  }
  std::printf("ingest: %lld rows in %d batches of %d from %d leases\n",
              static_cast<long long>(total_rows), flags.ingest_batches, flags.rows_per_batch,
              flags.ingest_threads);
  std::printf("ingest API      %10.0f rows/s\n", api_rows_per_s);
  std::printf(
      "ingest sqlite3  %10.0f rows/s (bare inserts, one transaction per batch, best of 3)\n",
      bare_rows_per_s);
  std::printf("ingest ratio    %10.2f of the sqlite3 ceiling\n", api_rows_per_s / bare_rows_per_s);

  (*server)->Stop();
  fs::remove_all(dir);
  return 0;
}
