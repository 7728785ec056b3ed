// The scheduler's data-parallel runs (docs/operations.md, "Gang
// scheduling"): placing all ranks of a run at once, the ranks reserved for
// other workers until they pick them up, and the hold of a waiting large run.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>
#include <utility>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "server/scheduler.h"

namespace flopwise::server {
namespace {

// `free` less one rank of `need`.
FreeResources Subtract(const FreeResources& free, const v1::Resources& need) {
  FreeResources left = free;
  left.cpu_cores = std::max(0, left.cpu_cores - need.cpu_cores());
  left.gpus = std::max(0, left.gpus - need.gpus());
  if (need.gpus() == 0)
    left.memory_bytes = std::max<int64_t>(0, left.memory_bytes - need.memory_bytes());
  return left;
}

}  // namespace

int Replicas(const RunPlan& plan) { return std::max(1, plan.resources().replicas()); }

int RanksThatFit(const RunPlan& plan, const FreeResources& free) {
  if (!Fits(plan, free)) return 0;
  const v1::Resources& need = plan.resources();
  int ranks = INT_MAX;
  if (need.cpu_cores() > 0) ranks = std::min(ranks, free.cpu_cores / need.cpu_cores());
  if (need.gpus() > 0) {
    ranks = std::min(ranks, free.gpus / need.gpus());  // Fits checked each GPU's memory
  } else if (need.memory_bytes() > 0) {
    ranks = static_cast<int>(std::min<int64_t>(ranks, free.memory_bytes / need.memory_bytes()));
  }
  return ranks;
}

std::optional<std::vector<std::string>> Scheduler::PlaceRanksLocked(const RunPlan& plan,
                                                                    std::string_view worker_id,
                                                                    int64_t now_ms) {
  const int replicas = Replicas(plan);
  const WorkerState& caller = workers_.find(worker_id)->second;
  const int here = std::min({RanksThatFit(plan, caller.free), caller.free_slots, replicas});
  if (here == 0) return std::nullopt;  // rank 0 is the caller's
  std::vector<std::string> ranks(static_cast<size_t>(here), std::string(worker_id));
  // The other workers with free slots reported recently, roomiest first, so
  // that a run spans as few workers as it can.
  std::vector<std::pair<int, std::string>> others;
  for (const auto& [id, worker] : workers_) {
    if (id == worker_id || worker.draining || worker.free_reported_ms == 0 ||
        now_ms - worker.free_reported_ms > options_.gang_pickup_ms) {
      continue;
    }
    const int fit = std::min(RanksThatFit(plan, worker.free), worker.free_slots);
    if (fit > 0) others.emplace_back(-fit, id);
  }
  std::sort(others.begin(), others.end());
  for (const auto& [negative_fit, id] : others) {
    const int take = std::min(-negative_fit, replicas - static_cast<int>(ranks.size()));
    ranks.insert(ranks.end(), static_cast<size_t>(take), id);
  }
  if (static_cast<int>(ranks.size()) < replicas) return std::nullopt;
  return ranks;
}

bool Scheduler::HoldsLocked(PendingRun& pending, std::string_view worker_id, int64_t now_ms) {
  if (pending.hold_since_ms != 0 && now_ms - pending.hold_since_ms >= options_.gang_hold_ms) {
    return false;  // held long enough: the runs behind it go on
  }
  // Only a run that the live workers could hold once their runs end holds,
  // and only the workers that could hold one of its ranks.
  const WorkerState& caller = workers_.find(worker_id)->second;
  if (RanksThatFit(pending.plan, caller.inventory) == 0) return false;
  int ranks = 0;
  for (const auto& [id, worker] : workers_) {
    if (worker.draining || !IsAlive(worker.last_heartbeat_ms, now_ms, options_.lease_duration_ms)) {
      continue;
    }
    ranks += RanksThatFit(pending.plan, worker.inventory);
  }
  if (ranks < Replicas(pending.plan)) return false;
  if (pending.hold_since_ms == 0) {
    pending.hold_since_ms = now_ms;
    spdlog::info("run {} ({}, {} ranks) waits for free slots: runs behind it wait for up to {} s",
                 pending.run_id, pending.plan.name(), Replicas(pending.plan),
                 options_.gang_hold_ms / 1000);
  }
  return true;
}

void Scheduler::ReserveRanksLocked(const ActiveLease& rank0,
                                   std::span<const std::string> rank_workers, int64_t now_ms) {
  for (size_t rank = 1; rank < rank_workers.size(); ++rank) {
    ActiveLease reserved = rank0;
    reserved.rank = static_cast<int>(rank);
    reserved.worker_id = rank_workers[rank];
    reserved.picked_up = false;
    reserved.deadline_ms = now_ms + options_.gang_pickup_ms;
    reserved.stored_deadline_ms = reserved.deadline_ms;  // never stored
    TakeSlotLocked(reserved.worker_id, rank0.plan);
    leases_.emplace(NewLeaseId(), std::move(reserved));
  }
  rendezvous_.Open(rank0.run_id, rank0.attempt);
}

absl::StatusOr<std::optional<LeaseGrant>> Scheduler::PickUpRankLocked(std::string_view worker_id,
                                                                      const FreeResources& free,
                                                                      int64_t now_ms) {
  auto found = leases_.end();
  for (auto it = leases_.begin(); it != leases_.end(); ++it) {
    const ActiveLease& lease = it->second;
    if (lease.picked_up || lease.worker_id != worker_id) continue;
    if (found == leases_.end() || lease.rank < found->second.rank) found = it;
  }
  if (found == leases_.end()) return std::nullopt;
  ActiveLease& lease = found->second;
  if (!Fits(lease.plan, free)) {
    RETURN_IF_ERROR(
        EndLocked(found->first, db::AttemptState::kStopped,
                  Cat("worker ", worker_id, " no longer had room for rank ", lease.rank),
                  db::RunState::kPending));
    return std::nullopt;
  }
  lease.picked_up = true;
  lease.deadline_ms = now_ms + options_.lease_duration_ms;
  lease.stored_deadline_ms = lease.deadline_ms;
  LeaseGrant grant;
  grant.lease_id = found->first;
  grant.run_id = lease.run_id;
  grant.attempt = lease.attempt;
  grant.lease_deadline_ms = lease.deadline_ms;
  grant.plan = lease.plan;
  grant.run_dir_name = RunDirName(lease.sweep_id, lease.run_id);
  grant.resume_checkpoint_path = lease.resume_checkpoint_path;
  grant.resume_step = lease.resume_step;
  grant.rank = lease.rank;
  grant.world_size = lease.world_size;
  BumpLocked();
  spdlog::info("run {} attempt {}: rank {} picked up by {}", grant.run_id, grant.attempt,
               grant.rank, worker_id);
  return grant;
}

void Scheduler::TakeSlotLocked(std::string_view worker_id, const RunPlan& plan) {
  WorkerState& worker = workers_.find(worker_id)->second;
  worker.free_slots = std::max(0, worker.free_slots - 1);
  worker.free = Subtract(worker.free, plan.resources());
}

std::string Scheduler::RankReason(const ActiveLease& lease, std::string_view reason) {
  if (lease.rank == 0) return std::string(reason);
  return Cat("rank ", lease.rank, ": ", reason);
}

void Scheduler::ForgetRankLocked(const std::string& lease_id, std::string reason) {
  leases_.erase(lease_id);
  ended_ranks_[lease_id] = EndedRank{std::move(reason), clock_()};
}

std::map<int64_t, std::vector<std::string>> Scheduler::RankWorkers() {
  absl::MutexLock lock(&mu_);
  std::map<int64_t, std::vector<std::string>> ranks;
  for (const auto& [lease_id, lease] : leases_) {
    if (lease.world_size <= 1) continue;
    std::vector<std::string>& workers = ranks[lease.run_id];
    workers.resize(lease.world_size);
    workers[lease.rank] = lease.worker_id;
  }
  return ranks;
}

}  // namespace flopwise::server
