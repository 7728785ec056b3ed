// `flopwise submit | cancel | workers | drain`: sweeps and workers on the
// coordinator (docs/operations.md).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/command_registry.h"
#include "cli/service_connection.h"
#include "client/errors.h"
#include "client/eval_jobs.h"
#include "client/format.h"
#include "client/user_connection.h"
#include "runspec/architecture.h"

namespace flopwise::cli {
namespace {

namespace v1 = ::flopwise::v1;

int Submit(const client::ConnectFlags& flags, const std::string& spec_path, bool dry_run) {
  std::ifstream in(spec_path);
  if (!in) return ReportError("submit", absl::NotFoundError(spec_path + ": cannot open"));
  std::ostringstream spec;
  spec << in.rdbuf();
  auto connection = client::ConnectUser(flags);
  if (!connection.ok()) return ReportError("submit", connection.status());
  grpc::ClientContext context;
  connection->Prepare(&context);
  v1::SubmitSweepRequest request;
  request.set_spec_yaml(spec.str());
  request.set_dry_run(dry_run);
  v1::SubmitSweepResponse response;
  absl::Status status =
      client::FromGrpc(connection->stub->SubmitSweep(&context, request, &response));
  if (!status.ok()) return ReportError("submit", status);
  if (dry_run) {
    std::printf("sweep %s: %d runs (dry run, nothing stored), %s FLOPs in all\n",
                response.name().c_str(), response.runs_size(),
                client::ShortCount(response.total_estimated_flops()).c_str());
    std::printf("%-5s %-36s %-6s %12s %12s %10s %10s\n", "index", "run", "arch", "params(N)",
                "tokens", "FLOPs", "memory");
    for (const v1::Run& run : response.runs()) {
      std::printf("%-5d %-36s %-6s %12s %12s %10s %9.2fG\n", run.index_in_sweep(),
                  run.name().c_str(), runspec::ArchName(run.config().model().arch()).c_str(),
                  client::ShortCount(static_cast<double>(run.params_non_embedding())).c_str(),
                  client::ShortCount(static_cast<double>(run.config().total_tokens())).c_str(),
                  client::ShortCount(run.estimated_flops()).c_str(),
                  static_cast<double>(run.estimated_memory_bytes()) / (1 << 30));
    }
    if (response.runs_size() > 0) {
      std::printf("%s\n", client::DescribeEvaluationPlan(response.runs(0).evaluation()).c_str());
    }
    return 0;
  }
  std::printf("submitted sweep %lld (%s): %d runs, %s FLOPs\n",
              static_cast<long long>(response.sweep_id()), response.name().c_str(),
              response.runs_size(), client::ShortCount(response.total_estimated_flops()).c_str());
  return 0;
}

int Cancel(const client::ConnectFlags& flags, int64_t sweep_id) {
  auto connection = client::ConnectUser(flags);
  if (!connection.ok()) return ReportError("cancel", connection.status());
  grpc::ClientContext context;
  connection->Prepare(&context);
  v1::CancelSweepRequest request;
  request.set_sweep_id(sweep_id);
  v1::CancelSweepResponse response;
  absl::Status status =
      client::FromGrpc(connection->stub->CancelSweep(&context, request, &response));
  if (!status.ok()) return ReportError("cancel", status);
  std::printf("cancelled sweep %lld: %d runs stopped or dequeued\n",
              static_cast<long long>(sweep_id), response.runs_cancelled());
  return 0;
}

int Workers(const client::ConnectFlags& flags) {
  auto connection = client::ConnectUser(flags);
  if (!connection.ok()) return ReportError("workers", connection.status());
  grpc::ClientContext context;
  connection->Prepare(&context);
  v1::ListWorkersResponse response;
  absl::Status status = client::FromGrpc(
      connection->stub->ListWorkers(&context, v1::ListWorkersRequest(), &response));
  if (!status.ok()) return ReportError("workers", status);
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  std::printf("%-24s %-20s %5s %9s %5s %-9s %9s %s\n", "worker", "host", "cores", "memory", "gpus",
              "state", "heartbeat", "runs");
  for (const v1::Worker& worker : response.workers()) {
    std::string runs;
    for (int64_t id : worker.running_run_ids())
      runs += (runs.empty() ? "" : ",") + std::to_string(id);
    const char* state = !worker.alive() ? "lost" : worker.draining() ? "draining" : "alive";
    std::printf(
        "%-24s %-20s %5d %8.1fG %5d %-9s %9s %s\n", worker.worker_id().c_str(),
        worker.hostname().c_str(), worker.inventory().cpu_cores(),
        static_cast<double>(worker.inventory().memory_bytes()) / (1 << 30), worker.gpus_size(),
        state,
        (client::ShortDuration((now_ms - worker.last_heartbeat_ms()) / 1000.0) + " ago").c_str(),
        runs.empty() ? "-" : runs.c_str());
  }
  return 0;
}

int Drain(const client::ConnectFlags& flags, const std::string& worker_id, bool undo) {
  auto connection = client::ConnectUser(flags);
  if (!connection.ok()) return ReportError("drain", connection.status());
  grpc::ClientContext context;
  connection->Prepare(&context);
  v1::SetDrainingRequest request;
  request.set_worker_id(worker_id);
  request.set_draining(!undo);
  v1::SetDrainingResponse response;
  absl::Status status =
      client::FromGrpc(connection->stub->SetDraining(&context, request, &response));
  if (!status.ok()) return ReportError("drain", status);
  std::printf("worker %s: %s (%d runs still running)\n", worker_id.c_str(),
              response.worker().draining() ? "draining, takes no new runs" : "takes runs again",
              response.worker().running_run_ids_size());
  return 0;
}

const CommandRegistrar kService([](CLI::App& app, CliContext& ctx) {
  static client::ConnectFlags flags;
  static std::string spec_path;
  static bool dry_run = false;
  auto* submit = app.add_subcommand("submit", "Submit a sweep spec (YAML) to the coordinator");
  submit->add_option("spec", spec_path, "Sweep spec file")->required();
  submit->add_flag("--dry-run", dry_run,
                   std::string("Validate and expand only: runs, estimated FLOPs and memory"));
  AddConnectionOptions(submit, &flags);
  submit->callback([&ctx] { ctx.exit_code = Submit(flags, spec_path, dry_run); });

  static int64_t sweep_id = 0;
  auto* cancel = app.add_subcommand("cancel", "Cancel a sweep: its pending and running runs");
  cancel->add_option("sweep", sweep_id, "Sweep id")->required();
  AddConnectionOptions(cancel, &flags);
  cancel->callback([&ctx] { ctx.exit_code = Cancel(flags, sweep_id); });

  auto* workers = app.add_subcommand("workers", "List the workers, their inventory and runs");
  AddConnectionOptions(workers, &flags);
  workers->callback([&ctx] { ctx.exit_code = Workers(flags); });

  static std::string worker_id;
  static bool undo = false;
  auto* drain = app.add_subcommand("drain", "Stop giving a worker new runs (running ones go on)");
  drain->add_option("worker", worker_id, "Worker id (see `flopwise workers`)")->required();
  drain->add_flag("--undo", undo, std::string("Let the worker take runs again"));
  AddConnectionOptions(drain, &flags);
  drain->callback([&ctx] { ctx.exit_code = Drain(flags, worker_id, undo); });
});

}  // namespace
}  // namespace flopwise::cli
