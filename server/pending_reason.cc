#include "server/pending_reason.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/str_format.h"
#include "base/str_cat.h"

namespace flopwise::server {
namespace {

// Whether some registered worker could hold one rank (the whole run when it
// has one rank).
bool AnyRankFits(const RunPlan& plan, std::span<const WorkerCapacity> workers) {
  return std::any_of(workers.begin(), workers.end(),
                     [&](const WorkerCapacity& worker) { return Fits(plan, worker.inventory); });
}

double GiB(int64_t bytes) { return static_cast<double>(bytes) / static_cast<double>(1 << 30); }

// "1 core", "4 cores".
std::string Count(int n, const char* what) {
  return absl::StrFormat("%d %s%s", n, what, n == 1 ? "" : "s");
}

// What the run needs: "4 cores / 40.2 GiB", or for a GPU run "2 GPUs / 20.1
// GiB each".
std::string Needs(const v1::Resources& need) {
  if (need.gpus() > 0) {
    const int64_t per_gpu = (need.memory_bytes() + need.gpus() - 1) / need.gpus();
    return absl::StrFormat("%s / %.1f GiB each", Count(need.gpus(), "GPU"), GiB(per_gpu));
  }
  return absl::StrFormat("%s / %.1f GiB", Count(need.cpu_cores(), "core"),
                         GiB(need.memory_bytes()));
}

// What a worker has, in the terms of the run's needs.
std::string Has(const v1::Resources& need, const FreeResources& has) {
  if (need.gpus() > 0) {
    if (has.gpus == 0) return "no GPU";
    return absl::StrFormat("%s of %.1f GiB", Count(has.gpus, "GPU"), GiB(has.gpu_memory_bytes));
  }
  return absl::StrFormat("%s / %.1f GiB", Count(has.cpu_cores, "core"), GiB(has.memory_bytes));
}

// The worker with the most of what the run is short of: GPU memory in all
// for a GPU run, host memory for a CPU run (then cores).
const WorkerCapacity& Largest(const v1::Resources& need, std::span<const WorkerCapacity> workers) {
  auto size = [&](const WorkerCapacity& worker) {
    const FreeResources& has = worker.inventory;
    return need.gpus() > 0 ? std::pair<int64_t, int64_t>{has.gpus * has.gpu_memory_bytes, has.gpus}
                           : std::pair<int64_t, int64_t>{has.memory_bytes, has.cpu_cores};
  };
  return *std::max_element(workers.begin(), workers.end(),
                           [&](const auto& a, const auto& b) { return size(a) < size(b); });
}

// The ranks of `plan` the registered workers hold at once, all together.
int RegisteredRanks(const RunPlan& plan, std::span<const WorkerCapacity> workers) {
  int ranks = 0;
  for (const WorkerCapacity& worker : workers) ranks += RanksThatFit(plan, worker.inventory);
  return ranks;
}

// "needs ...; the largest registered worker has ...", or for a data-parallel
// run "needs 4 ranks of 1 core / 0.1 GiB; the registered workers hold 2
// together". REQUIRES: workers not empty.
std::string TooLarge(const RunPlan& plan, std::span<const WorkerCapacity> workers) {
  const v1::Resources& need = plan.resources();
  if (Replicas(plan) > 1 && AnyRankFits(plan, workers)) {
    return Cat("needs ", Replicas(plan), " ranks of ", Needs(need),
               "; the registered workers hold ", RegisteredRanks(plan, workers), " together");
  }
  return Cat("needs ", Needs(need), "; the largest registered worker has ",
             Has(need, Largest(need, workers).inventory));
}

}  // namespace

bool AnyWorkerCouldHold(const RunPlan& plan, std::span<const WorkerCapacity> workers) {
  return AnyRankFits(plan, workers) && RegisteredRanks(plan, workers) >= Replicas(plan);
}

std::string PendingReason(const RunPlan& plan, int runs_ahead,
                          std::span<const WorkerCapacity> workers) {
  if (workers.empty()) return "no worker registered";
  if (!AnyWorkerCouldHold(plan, workers)) return TooLarge(plan, workers);
  bool alive = false, taking = false;
  for (const WorkerCapacity& worker : workers) {
    if (!Fits(plan, worker.inventory) || !worker.alive) continue;
    alive = true;
    taking = taking || !worker.draining;
  }
  if (!alive) return "every worker that could take it is lost (no heartbeat)";
  if (!taking) return "every worker that could take it is draining";
  if (runs_ahead > 0) return Cat(Count(runs_ahead, "run"), " ahead in the queue");
  if (Replicas(plan) > 1) {
    return Cat("next in the queue: waiting for ", Replicas(plan), " ranks of ",
               Needs(plan.resources()), " free at once");
  }
  return Cat("next in the queue: waiting for a worker with ", Needs(plan.resources()), " free");
}

std::vector<std::string> SubmitWarnings(std::span<const RunPlan> plans,
                                        std::span<const WorkerCapacity> workers) {
  std::vector<std::string> warnings;
  if (workers.empty()) return warnings;
  for (const RunPlan& plan : plans) {
    if (!AnyWorkerCouldHold(plan, workers))
      warnings.push_back(Cat(plan.name(), ": ", TooLarge(plan, workers)));
  }
  return warnings;
}

}  // namespace flopwise::server
