// Why a pending run still waits, in the words every client shows as sent
// (Run.pending_reason), and the warnings of a submit whose runs no registered
// worker could ever hold (SubmitSweepResponse.warnings). Pure functions of the
// runs' resources (RunPlan.resources, what Fits() schedules against) and the
// registered workers.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "server/run_plan.h"
#include "server/scheduler.h"

namespace flopwise::server {

// Whether the registered workers' whole inventories fit `plan` (Fits()): one
// worker, or for a data-parallel run all its ranks together
// (RanksThatFit()).
bool AnyWorkerCouldHold(const RunPlan& plan, std::span<const WorkerCapacity> workers);

// In order: "no worker registered"; "needs 4 cores / 40.2 GiB; the largest
// registered worker has 16 cores / 24.0 GiB" when no worker's whole
// inventory fits the run ("needs 4 ranks of 1 core / 0.1 GiB; the registered
// workers hold 2 together" for a data-parallel run they cannot hold at once); "every worker that
// could take it is lost (no heartbeat)" or "... is draining"; "3 runs ahead in the queue"
// (`runs_ahead` queued runs that some worker could hold come first); "next in the queue: waiting
// for a worker with 4 cores / 40.2 GiB free" ("... waiting for 2 ranks of 1 core / 0.1 GiB free at
// once").
std::string PendingReason(const RunPlan& plan, int runs_ahead,
                          std::span<const WorkerCapacity> workers);

// One line per run that no registered worker could ever hold: "<run name>:
// needs ...; the largest registered worker has ...". Empty when every run fits
// some worker, or when no worker is registered (workers often register after
// the submit).
std::vector<std::string> SubmitWarnings(std::span<const RunPlan> plans,
                                        std::span<const WorkerCapacity> workers);

}  // namespace flopwise::server
