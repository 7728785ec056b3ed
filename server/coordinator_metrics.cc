#include "server/coordinator_metrics.h"

#include <filesystem>
#include <map>
#include <utility>
#include <vector>

#include "base/status_macros.h"
#include "server/prometheus_text.h"
#include "server/worker_inventory.h"

namespace flopwise::server {
namespace {

namespace fs = std::filesystem;
using Type = PrometheusText::Type;

constexpr db::RunState kRunStates[] = {db::RunState::kPending,   db::RunState::kRunning,
                                       db::RunState::kSucceeded, db::RunState::kFailed,
                                       db::RunState::kDiverged,  db::RunState::kCancelled};
constexpr db::SweepState kSweepStates[] = {db::SweepState::kActive, db::SweepState::kCompleted,
                                           db::SweepState::kCancelled};

template <typename State>
int64_t CountOf(const std::map<State, int64_t>& counts, State state) {
  auto it = counts.find(state);
  return it == counts.end() ? 0 : it->second;
}

// The file's size, 0 when it does not exist (no WAL yet).
double FileBytes(const fs::path& path) {
  std::error_code error;
  const uintmax_t bytes = fs::file_size(path, error);
  return error ? 0 : static_cast<double>(bytes);
}

void WriteStore(const db::StoreCounts& counts, uint64_t ingested, PrometheusText& page) {
  page.Family("flopwise_runs", Type::kGauge, "Runs by state, as stored.");
  for (const db::RunState state : kRunStates) {
    page.Sample({{"state", std::string(db::RunStateName(state))}},
                static_cast<double>(CountOf(counts.runs_by_state, state)));
  }
  page.Family("flopwise_sweeps", Type::kGauge, "Sweeps by state, as stored.");
  for (const db::SweepState state : kSweepStates) {
    page.Sample({{"state", std::string(db::SweepStateName(state))}},
                static_cast<double>(CountOf(counts.sweeps_by_state, state)));
  }
  page.Family("flopwise_metric_rows_ingested_total", Type::kCounter,
              "Metric rows the workers reported that were new, since the coordinator started.");
  page.Sample({}, static_cast<double>(ingested));
  page.Family("flopwise_metric_rows_stored", Type::kGauge,
              "Metric rows in the database, superseded ones included.");
  page.Sample({}, static_cast<double>(counts.metric_rows));
}

void WriteScheduler(const SchedulerGauges& gauges, PrometheusText& page) {
  page.Family("flopwise_queue_depth", Type::kGauge,
              "Runs and eval jobs waiting in the scheduler's queue.");
  page.Sample({{"queue", "runs"}}, static_cast<double>(gauges.queued_runs));
  page.Sample({{"queue", "eval_jobs"}}, static_cast<double>(gauges.queued_eval_jobs));
  page.Family("flopwise_active_leases", Type::kGauge, "Leases held by workers, by kind.");
  page.Sample({{"kind", "run"}}, static_cast<double>(gauges.run_leases));
  page.Sample({{"kind", "eval_job"}}, static_cast<double>(gauges.eval_leases));
  page.Family("flopwise_run_tokens", Type::kGauge,
              "Tokens each running run has trained on, as last reported.");
  for (const RunningRun& run : gauges.running) {
    page.Sample({{"run", std::to_string(run.run_id)},
                 {"sweep", std::to_string(run.sweep_id)},
                 {"worker", run.worker_id}},
                static_cast<double>(run.tokens));
  }
  page.Family("flopwise_run_tokens_per_second", Type::kGauge,
              "Training throughput of each running run, as last reported.");
  for (const RunningRun& run : gauges.running) {
    page.Sample({{"run", std::to_string(run.run_id)},
                 {"sweep", std::to_string(run.sweep_id)},
                 {"worker", run.worker_id}},
                run.tokens_per_s);
  }
}

void WriteWorkers(const std::vector<WorkerCapacity>& workers, const SchedulerGauges& gauges,
                  const std::vector<db::WorkerRecord>& records, PrometheusText& page) {
  double alive = 0, draining = 0, lost = 0;
  for (const WorkerCapacity& worker : workers) {
    (worker.alive ? (worker.draining ? draining : alive) : lost) += 1;
  }
  page.Family("flopwise_workers", Type::kGauge,
              "Registered workers: alive (taking runs), draining (alive, taking none) or lost "
              "(no heartbeat for two lease durations).");
  page.Sample({{"condition", "alive"}}, alive);
  page.Sample({{"condition", "draining"}}, draining);
  page.Sample({{"condition", "lost"}}, lost);

  std::map<std::string, double> tokens_per_s;
  for (const WorkerCapacity& worker : workers) tokens_per_s[worker.worker_id] = 0;
  for (const RunningRun& run : gauges.running) tokens_per_s[run.worker_id] += run.tokens_per_s;
  page.Family("flopwise_worker_tokens_per_second", Type::kGauge,
              "Training throughput of each worker: the sum over its running runs.");
  for (const auto& [worker_id, rate] : tokens_per_s) page.Sample({{"worker", worker_id}}, rate);

  page.Family("flopwise_worker_gpu_memory_bytes", Type::kGauge,
              "Memory of each GPU a worker registered.");
  for (const db::WorkerRecord& record : records) {
    for (const v1::Gpu& gpu : InventoryFromJson(record.inventory_json).gpus) {
      page.Sample({{"worker", record.worker_id},
                   {"gpu", std::to_string(gpu.index())},
                   {"name", gpu.name()}},
                  static_cast<double>(gpu.memory_bytes()));
    }
  }
}

void WriteDatabaseFiles(const fs::path& db_path, PrometheusText& page) {
  page.Family("flopwise_database_size_bytes", Type::kGauge,
              "Size of the SQLite database's files: the main file and its write-ahead log.");
  page.Sample({{"file", "main"}}, FileBytes(db_path));
  page.Sample({{"file", "wal"}}, FileBytes(fs::path(db_path.string() + "-wal")));
  std::error_code error;
  const fs::space_info space = fs::space(fs::absolute(db_path).parent_path(), error);
  page.Family("flopwise_database_filesystem_free_bytes", Type::kGauge,
              "Bytes free for the coordinator on the file system of the database.");
  if (!error) page.Sample({}, static_cast<double>(space.available));
}

void WriteLatencies(const RpcLatencies& latencies, PrometheusText& page) {
  page.Family("flopwise_rpc_duration_seconds", Type::kHistogram,
              "Time the coordinator took for each gRPC call, token check and reply included "
              "(for WatchRuns, how long the stream was open).");
  for (const auto& [method, value] : latencies.Values())
    page.Histogram({{"method", method}}, value);
}

}  // namespace

CoordinatorMetrics::CoordinatorMetrics(Scheduler* scheduler, std::string db_path,
                                       const RpcLatencies* latencies)
    : scheduler_(scheduler), db_path_(std::move(db_path)), latencies_(latencies) {}

absl::StatusOr<std::string> CoordinatorMetrics::Render() const {
  ASSIGN_OR_RETURN(const db::StoreCounts counts, scheduler_->store()->Counts());
  ASSIGN_OR_RETURN(const std::vector<db::WorkerRecord> records, scheduler_->store()->ListWorkers());
  const SchedulerGauges gauges = scheduler_->Gauges();
  const std::vector<WorkerCapacity> workers = scheduler_->Workers();
  PrometheusText page;
  WriteStore(counts, gauges.metric_rows_ingested, page);
  WriteScheduler(gauges, page);
  WriteWorkers(workers, gauges, records, page);
  WriteDatabaseFiles(db_path_, page);
  WriteLatencies(*latencies_, page);
  return page.text();
}

}  // namespace flopwise::server
