#include "worker/daemon/worker.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "client/channel.h"
#include "client/errors.h"
#include "comm/coordinator_key_value_store.h"
#include "models/accounting.h"
#include "models/config.h"
#include "runspec/model_shape.h"
#include "worker/daemon/report_queue.h"
#include "worker/daemon/trainer_args.h"
#include "worker/daemon/trainer_process.h"
#include "worker/daemon/worker_slot.h"

namespace flopwise::workerd {
namespace {

namespace fs = std::filesystem;

constexpr char kWorkerIdFile[] = "worker-id";
// The worker token for data-parallel ranks (FLOPWISE_TOKEN_FILE), mode 0600.
constexpr char kRankTokenFile[] = "rank-token";
constexpr char kVersion[] = "0.1.0";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string LocalHostname() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "worker";
  return name;
}

// Host memory the run will take: the models module's estimate for the
// lease's shape (0 when the shape does not resolve).
int64_t EstimateMemoryBytes(const v1::RunConfig& config, int threads) {
  absl::StatusOr<models::ModelConfig> model = runspec::ModelConfigFromShape(config.model());
  if (!model.ok()) return 0;
  const int64_t micro_batch_tokens =
      config.batch_tokens() / std::max<int64_t>(1, config.grad_accum());
  return models::EstimateTrainMemoryBytes(*model, micro_batch_tokens, threads);
}

// Moves checkpoints newer than the coordinator's newest known one out of the
// trainer's way (into RUN_DIR/.unreported/, kept): their metric rows may never
// have been reported, so resuming from them would leave a gap. The worker
// reports a checkpoint only after every row before it, so resuming from the
// coordinator's point leaves none.
void SetAsideUnreportedCheckpoints(const fs::path& run_dir, int64_t resume_step) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("step-", 0) != 0 || !entry.is_directory()) continue;
    char* end = nullptr;
    const long long step = std::strtoll(name.c_str() + 5, &end, 10);
    if (end == name.c_str() + 5 || *end != '\0' || step <= resume_step) continue;
    const fs::path aside = run_dir / ".unreported" / name;
    fs::create_directories(aside.parent_path(), ec);
    fs::remove_all(aside, ec);
    fs::rename(entry.path(), aside, ec);
    spdlog::info("{}: set aside (newer than the coordinator's resume step {})",
                 entry.path().string(), resume_step);
  }
}

}  // namespace

Worker::Worker(WorkerOptions options, CoordinatorLink* link)
    : options_(std::move(options)),
      link_(link),
      register_backoff_(options_.backoff, static_cast<uint64_t>(getpid())),
      acquire_backoff_(options_.backoff, static_cast<uint64_t>(getpid()) + 1) {
  const int gpus = static_cast<int>(options_.host.gpus.size());
  max_runs_ = options_.max_runs > 0 ? options_.max_runs : std::max(1, gpus);
  const int cores = std::max(1, options_.host.cpu_cores);
  threads_per_run_ =
      options_.threads_per_run > 0 ? options_.threads_per_run : std::max(1, cores / max_runs_);
}

Worker::~Worker() = default;

std::string Worker::worker_id() const {
  absl::MutexLock lock(&id_mu_);
  return worker_id_;
}

void Worker::RequestStop() {
  stop_requested_.store(true);
  Wake();
}

void Worker::Wake() {
  absl::MutexLock lock(&wake_mu_);
  woken_ = true;
  wake_cv_.Signal();
}

void Worker::SleepUntilWoken(int64_t timeout_ms) {
  absl::MutexLock lock(&wake_mu_);
  const absl::Time deadline = absl::Now() + absl::Milliseconds(timeout_ms);
  while (!woken_) {
    if (wake_cv_.WaitWithDeadline(&wake_mu_, deadline)) break;  // timed out
  }
  woken_ = false;
}

absl::StatusOr<WorkDirLock> Worker::LockWorkDir() {
  std::error_code ec;
  fs::create_directories(fs::path(options_.work_dir) / "logs", ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("--work-dir ", options_.work_dir, ": cannot create: ", ec.message()));
  }
  return WorkDirLock::Acquire(options_.work_dir);
}

absl::Status Worker::PrepareWorkDir() {
  std::error_code ec;
  const fs::path probe = fs::path(options_.work_dir) / ".write-test";
  {
    std::ofstream out(probe);
    if (!(out << "ok")) {
      return absl::FailedPreconditionError(
          absl::StrCat("--work-dir ", options_.work_dir, ": not writable"));
    }
  }
  fs::remove(probe, ec);
  std::ifstream id_file(fs::path(options_.work_dir) / kWorkerIdFile);
  std::string id;
  if (id_file && std::getline(id_file, id)) {
    absl::MutexLock lock(&id_mu_);
    worker_id_ = std::string(absl::StripAsciiWhitespace(id));
  }
  return absl::OkStatus();
}

bool Worker::Register(int64_t now_ms) {
  v1::RegisterRequest request;
  request.set_hostname(options_.hostname.empty() ? LocalHostname() : options_.hostname);
  request.set_cpu_cores(options_.host.cpu_cores);
  request.set_memory_bytes(options_.host.memory_bytes);
  for (const kernels::GpuInfo& gpu : options_.host.gpus) {
    v1::Gpu* g = request.add_gpus();
    g->set_index(gpu.index);
    g->set_name(gpu.name);
    g->set_memory_bytes(gpu.memory_bytes);
  }
  request.set_worker_id(worker_id());
  request.set_version(kVersion);
  for (const auto& [lease_id, slot] : slots_) request.add_held_lease_ids(lease_id);
  absl::StatusOr<v1::RegisterResponse> response = link_->Register(request);
  if (!response.ok()) {
    const int64_t delay_ms = register_backoff_.NextDelayMs();
    next_register_ms_ = now_ms + delay_ms;
    spdlog::warn("register: {} (retry in {} ms)", client::OneLine(response.status()), delay_ms);
    return false;
  }
  register_backoff_.Reset();
  {
    absl::MutexLock lock(&id_mu_);
    worker_id_ = response->worker_id();
  }
  std::ofstream(fs::path(options_.work_dir) / kWorkerIdFile) << response->worker_id() << "\n";
  if (!options_.checkpoint_root.empty()) {
    checkpoint_root_ = options_.checkpoint_root;
  } else if (!response->checkpoint_root().empty()) {
    checkpoint_root_ = response->checkpoint_root();
  } else {
    checkpoint_root_ = (fs::path(options_.work_dir) / "checkpoints").string();
  }
  if (response->heartbeat_interval_ms() > 0) {
    heartbeat_interval_ms_ = response->heartbeat_interval_ms();
  }
  registered_ = true;
  next_heartbeat_ms_ = now_ms;
  next_acquire_ms_ = now_ms;
  spdlog::info(
      "registered as {} ({} cores, {} GPUs, up to {} runs of {} threads, checkpoints in {})",
      response->worker_id(), options_.host.cpu_cores, options_.host.gpus.size(), max_runs_,
      threads_per_run_, checkpoint_root_);
  return true;
}

void Worker::Heartbeat(int64_t now_ms) {
  v1::HeartbeatRequest request;
  request.set_worker_id(worker_id());
  for (auto& [lease_id, slot] : slots_) {
    if (slot->lease_ended || slot->reported) continue;
    *request.add_leases() = slot->progress;
  }
  next_heartbeat_ms_ = now_ms + heartbeat_interval_ms_;
  absl::StatusOr<v1::HeartbeatResponse> response = link_->Heartbeat(request);
  if (!response.ok()) {
    if (response.status().code() == absl::StatusCode::kNotFound) {
      spdlog::warn("heartbeat: the coordinator does not know this worker; registering again");
      registered_ = false;
      next_register_ms_ = now_ms;
      return;
    }
    spdlog::warn("heartbeat: {}", client::OneLine(response.status()));
    return;
  }
  if (response->draining() != draining_) {
    spdlog::info(response->draining() ? "draining: taking no new runs" : "draining ended");
  }
  draining_ = response->draining();
  for (const v1::LeaseInstruction& instruction : response->instructions()) {
    auto it = slots_.find(instruction.lease_id());
    if (it == slots_.end()) continue;
    if (instruction.action() == v1::LeaseInstruction::ACTION_CANCEL) {
      StopSlot(*it->second, absl::StrCat("coordinator: ", instruction.reason()),
               /*lease_ended=*/true);
    }
  }
}

void Worker::Acquire(int64_t now_ms) {
  int free_cores = options_.host.cpu_cores;
  int64_t free_memory = options_.host.memory_bytes;
  std::vector<bool> gpu_used(options_.host.gpus.size(), false);
  for (const auto& [lease_id, slot] : slots_) {
    free_cores -= slot->cores;
    free_memory -= slot->memory_bytes;
    for (int index : slot->gpu_indices) {
      for (size_t g = 0; g < options_.host.gpus.size(); ++g) {
        if (options_.host.gpus[g].index == index) gpu_used[g] = true;
      }
    }
  }
  int free_gpus = 0;
  int64_t free_gpu_memory = 0;
  for (size_t g = 0; g < options_.host.gpus.size(); ++g) {
    if (gpu_used[g]) continue;
    const int64_t memory = options_.host.gpus[g].memory_bytes;
    free_gpu_memory = free_gpus == 0 ? memory : std::min(free_gpu_memory, memory);
    ++free_gpus;
  }
  v1::AcquireRunRequest request;
  request.set_worker_id(worker_id());
  request.set_free_cpu_cores(std::max(0, free_cores));
  request.set_free_memory_bytes(std::max<int64_t>(0, free_memory));
  request.set_free_gpus(free_gpus);
  request.set_free_gpu_memory_bytes(free_gpu_memory);
  request.set_accepts_eval_jobs(true);
  request.set_free_slots(max_runs_ - static_cast<int>(slots_.size()));
  absl::StatusOr<v1::AcquireRunResponse> response = link_->AcquireRun(request);
  if (!response.ok()) {
    if (response.status().code() == absl::StatusCode::kNotFound) {
      registered_ = false;
      next_register_ms_ = now_ms;
      return;
    }
    const int64_t delay_ms = acquire_backoff_.NextDelayMs();
    next_acquire_ms_ = now_ms + delay_ms;
    spdlog::warn("acquire: {} (retry in {} ms)", client::OneLine(response.status()), delay_ms);
    return;
  }
  acquire_backoff_.Reset();
  draining_ = response->draining();
  if (!response->has_lease() && !response->has_eval_lease()) {
    next_acquire_ms_ = now_ms + std::max(100, response->retry_after_ms());
    return;
  }
  next_acquire_ms_ = now_ms;  // there may be more work that fits
  if (response->has_eval_lease()) {
    StartEval(response->eval_lease());
  } else {
    StartRun(response->lease());
  }
}

void Worker::StartRun(const v1::Lease& lease) {
  auto slot = std::make_unique<Slot>(lease, options_.backoff);
  // What the coordinator granted (Lease.resources; the memory of a GPU run is
  // the GPUs', so its host memory is estimated here).
  const v1::Resources& granted = lease.resources();
  slot->threads = threads_per_run_;
  slot->cores = std::max(threads_per_run_, granted.cpu_cores());
  slot->memory_bytes = granted.gpus() == 0 ? granted.memory_bytes()
                                           : EstimateMemoryBytes(lease.config(), slot->threads);
  slot->progress.set_lease_id(lease.lease_id());
  slot->progress.set_attempt(lease.attempt());
  slot->progress.set_step(std::max<int64_t>(0, lease.resume_step()));

  SpawnOptions spawn;
  if (!options_.host.gpus.empty()) {
    std::vector<bool> used(options_.host.gpus.size(), false);
    for (const auto& [id, other] : slots_) {
      for (int index : other->gpu_indices) {
        for (size_t g = 0; g < used.size(); ++g) {
          if (options_.host.gpus[g].index == index) used[g] = true;
        }
      }
    }
    // The first free GPUs: as many as granted, at least one.
    const size_t wanted = static_cast<size_t>(std::max(1, granted.gpus()));
    for (size_t g = 0; g < used.size() && slot->gpu_indices.size() < wanted; ++g) {
      if (!used[g]) slot->gpu_indices.push_back(options_.host.gpus[g].index);
    }
    spawn.env.emplace_back("CUDA_VISIBLE_DEVICES", absl::StrJoin(slot->gpu_indices, ","));
  }
  const std::string& dir_name = lease.run_dir_name();
  const fs::path run_dir = fs::path(checkpoint_root_) / dir_name;
  const fs::path log_path =
      fs::path(options_.work_dir) / "logs" /
      absl::StrCat(absl::StrReplaceAll(dir_name, {{"/", "_"}}), ".attempt-", lease.attempt(),
                   lease.rank() > 0 ? absl::StrCat(".rank-", lease.rank()) : std::string(), ".log");
  spawn.stderr_path = log_path.string();
  slot->log_path = log_path.string();
  // Ahead of every other report: the log says why an attempt failed.
  std::error_code absolute_error;
  const fs::path absolute_log = fs::absolute(log_path, absolute_error);
  slot->queue.AddLogPath((absolute_error ? log_path : absolute_log).lexically_normal().string());
  // A worker killed outright takes its trainers with it: no checkpoint is
  // written that the coordinator will never hear of.
  spawn.parent_death_signal = SIGKILL;
  spawn.env.emplace_back("OMP_NUM_THREADS", std::to_string(slot->threads));
  for (const auto& kv : options_.trainer_env) spawn.env.push_back(kv);

  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (!ec) SetAsideUnreportedCheckpoints(run_dir, lease.resume_step());
  const absl::StatusOr<std::string> config_path =
      ec ? absl::FailedPreconditionError(
               absl::StrCat("run directory ", run_dir.string(), ": ", ec.message()))
         : WriteRunConfig(lease.config(), run_dir.string());
  absl::Status ready = config_path.status();
  if (ready.ok()) {
    spawn.argv = TrainerArgv(options_.trainer_path, *config_path, run_dir.string(), slot->threads,
                             lease.resume_step(), /*on_gpu=*/granted.gpus() > 0);
    if (lease.world_size() > 1) ready = AddRankSettings(lease, &spawn);
  }
  absl::StatusOr<std::unique_ptr<TrainerProcess>> trainer =
      ready.ok() ? TrainerProcess::Start(spawn, [this] { Wake(); })
                 : absl::StatusOr<std::unique_ptr<TrainerProcess>>(ready);
  if (!trainer.ok()) {
    spdlog::error("run {} ({}): cannot start the trainer: {}", lease.run_id(), lease.run_name(),
                  std::string(trainer.status().message()));
    slot->queue.AddFail(
        absl::StrCat("worker: cannot start the trainer: ", trainer.status().message()),
        /*diverged=*/false);
    slot->exited = true;
  } else {
    slot->trainer = *std::move(trainer);
    spdlog::info("run {} ({}) attempt {}{}: started pid {} in {} (log {})", lease.run_id(),
                 lease.run_name(), lease.attempt(),
                 lease.world_size() > 1
                     ? absl::StrCat(" rank ", lease.rank(), " of ", lease.world_size())
                     : std::string(),
                 slot->trainer->pid(), run_dir.string(), log_path.string());
  }
  slots_[lease.lease_id()] = std::move(slot);
}

absl::Status Worker::AddRankSettings(const v1::Lease& lease, SpawnOptions* spawn) {
  const RankConnection& connection = options_.rank_connection;
  if (connection.coordinator.empty() || connection.token.empty()) {
    return absl::FailedPreconditionError(
        "a data-parallel rank needs the coordinator's address and the worker token");
  }
  const fs::path token_file = fs::absolute(fs::path(options_.work_dir) / kRankTokenFile);
  if (absl::Status written = WritePrivateFile(token_file.string(), connection.token + "\n");
      !written.ok()) {
    return written;
  }
  RankArgs rank;
  rank.world_size = lease.world_size();
  rank.rank = lease.rank();
  rank.rendezvous =
      comm::CoordinatorRendezvousUri({connection.coordinator, lease.run_id(), lease.attempt()});
  rank.address = connection.rank_address;
  rank.interface = connection.rank_interface;
  AppendRankArgs(rank, &spawn->argv);
  spawn->env.emplace_back(client::kTokenFileEnv, token_file.string());
  if (connection.tls) spawn->env.emplace_back(comm::kTlsEnv, "1");
  if (!connection.tls_ca_file.empty()) {
    spawn->env.emplace_back(client::kTlsCaEnv, connection.tls_ca_file);
  }
  return absl::OkStatus();
}

void Worker::PumpEvents(Slot& slot) {
  if (slot.trainer == nullptr) return;
  // A data-parallel run's metrics and checkpoints are rank 0's.
  const bool reports = slot.lease.rank() == 0;
  for (const TrainerEvent& event : slot.trainer->TakeEvents()) {
    switch (event.kind) {
      case TrainerEventKind::kStart:
        if (reports) slot.queue.AddStart(event.resumed_from_step);
        if (event.resumed_from_step >= 0) slot.progress.set_step(event.resumed_from_step);
        break;
      case TrainerEventKind::kProgress:
        if (reports) slot.queue.AddProgress(event);
        slot.progress.set_step(event.step);
        slot.progress.set_tokens(event.tokens);
        slot.progress.set_loss(event.loss);
        slot.progress.set_tokens_per_s(event.tokens_per_s);
        break;
      case TrainerEventKind::kCheckpoint:
        if (reports) slot.queue.AddCheckpoint(event);
        break;
      case TrainerEventKind::kDone:
        slot.done = event;
        break;
      case TrainerEventKind::kDiverged:
        slot.diverged = true;
        slot.diverged_step = event.step;
        break;
      case TrainerEventKind::kStopped:
        slot.stopped_event = true;
        break;
      case TrainerEventKind::kError:
        slot.error_message = event.message;
        break;
      case TrainerEventKind::kEval:
        slot.queue.AddEvalResult(event);
        break;
    }
  }
}

void Worker::FinishIfExited(Slot& slot) {
  if (slot.exited || slot.trainer == nullptr || !slot.trainer->output_closed()) return;
  std::optional<ExitStatus> exit = slot.trainer->TryWait();
  if (!exit.has_value()) return;
  slot.exited = true;
  const std::string run = slot.Describe();
  if (slot.lease_ended) {
    spdlog::info("{}: trainer ended ({}) after the lease ended", run, exit->Describe());
    return;
  }
  if (slot.eval.has_value()) {
    FinishEval(slot, *exit);
    return;
  }
  if (exit->exit_code == 0 && slot.lease.rank() > 0) {
    // A data-parallel rank other than 0 may report no progress: its clean
    // exit ends its own lease; rank 0 completes the run.
    spdlog::info("{}: rank {} done", run, slot.lease.rank());
    slot.queue.AddComplete(slot.done.value_or(TrainerEvent{}));
  } else if (exit->exit_code == 0 && slot.done.has_value()) {
    spdlog::info("{}: done at step {}, loss {}", run, slot.done->step, slot.done->loss);
    slot.queue.AddComplete(*slot.done);
  } else if (slot.diverged || exit->exit_code == 3) {
    spdlog::warn("{}: diverged at step {}", run, slot.diverged_step);
    slot.queue.AddFail(absl::StrCat("diverged: loss not finite at step ", slot.diverged_step),
                       /*diverged=*/true);
  } else if (exit->exit_code == 4 || slot.stopped_event || !slot.stop_reason.empty()) {
    const std::string reason =
        slot.stop_reason.empty() ? std::string("trainer stopped (signalled)") : slot.stop_reason;
    spdlog::info("{}: stopped ({}), releasing the lease", run, exit->Describe());
    slot.queue.AddRelease(reason);
  } else {
    std::string reason = exit->Describe();
    if (!slot.error_message.empty()) absl::StrAppend(&reason, ": ", slot.error_message);
    spdlog::warn("{}: failed: {}", run, reason);
    slot.queue.AddFail(reason, /*diverged=*/false);
  }
}

void Worker::StopSlot(Slot& slot, const std::string& reason, bool lease_ended) {
  if (lease_ended && !slot.lease_ended) {
    slot.lease_ended = true;
    spdlog::info("{}: lease ended ({}), stopping the child", slot.Describe(), reason);
  }
  if (slot.stop_reason.empty()) {
    slot.stop_reason = reason;
    if (slot.trainer != nullptr && !slot.exited) slot.trainer->Signal(SIGTERM);
  }
}

absl::Status Worker::Run() {
  // Held until Run returns: a second worker on this folder is refused meanwhile.
  absl::StatusOr<WorkDirLock> work_dir_lock = LockWorkDir();
  if (!work_dir_lock.ok()) return work_dir_lock.status();
  if (absl::Status status = PrepareWorkDir(); !status.ok()) return status;
  bool stopping = false;
  int64_t kill_at_ms = 0;
  int64_t give_up_at_ms = 0;
  while (true) {
    const int64_t now_ms = NowMs();
    if (stop_requested_.load() && !stopping) {
      stopping = true;
      kill_at_ms = now_ms + options_.stop_timeout_ms;
      spdlog::info("stopping: signalling {} trainer(s)", slots_.size());
      for (auto& [id, slot] : slots_) StopSlot(*slot, "worker stopping (SIGTERM)", false);
    }
    if (stopping && now_ms >= kill_at_ms) {
      for (auto& [id, slot] : slots_) {
        if (slot->trainer != nullptr && !slot->exited) slot->trainer->Signal(SIGKILL);
      }
    }

    for (auto it = slots_.begin(); it != slots_.end();) {
      Slot& slot = *it->second;
      PumpEvents(slot);
      FinishIfExited(slot);
      if (!slot.lease_ended && !slot.reported) {
        switch (slot.queue.Flush(*link_, now_ms)) {
          case ReportQueue::FlushResult::kLeaseEnded:
            StopSlot(slot, "the coordinator ended the lease", /*lease_ended=*/true);
            break;
          case ReportQueue::FlushResult::kFinished:
            slot.reported = true;
            break;
          default:
            break;
        }
      }
      const bool trainer_gone = slot.trainer == nullptr || slot.exited;
      if (trainer_gone && (slot.lease_ended || slot.reported)) {
        it = slots_.erase(it);
      } else {
        ++it;
      }
    }

    if (stopping) {
      bool trainers_running = false;
      for (const auto& [id, slot] : slots_) {
        if (slot->trainer != nullptr && !slot->exited) trainers_running = true;
      }
      if (slots_.empty()) break;
      if (!trainers_running && give_up_at_ms == 0) give_up_at_ms = now_ms + options_.stop_flush_ms;
      if (give_up_at_ms != 0 && now_ms >= give_up_at_ms) {
        spdlog::warn("stopping: {} lease(s) could not be reported; they will expire",
                     slots_.size());
        break;
      }
    }

    if (!registered_ && now_ms >= next_register_ms_ && !stopping) Register(now_ms);
    if (registered_ && now_ms >= next_heartbeat_ms_) Heartbeat(now_ms);
    if (registered_ && !stopping && !draining_ && now_ms >= next_acquire_ms_ &&
        static_cast<int>(slots_.size()) < max_runs_) {
      Acquire(now_ms);
    }
    SleepUntilWoken(options_.poll_ms);
  }
  slots_.clear();
  return absl::OkStatus();
}

}  // namespace flopwise::workerd
