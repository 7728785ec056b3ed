#include "worker/daemon/trainer_process.h"

#include <signal.h>
#include <spdlog/spdlog.h>

namespace flopwise::workerd {

absl::StatusOr<std::unique_ptr<TrainerProcess>> TrainerProcess::Start(
    SpawnOptions options, std::function<void()> on_event) {
  options.capture_stdout = true;
  auto child = ChildProcess::Spawn(options);
  if (!child.ok()) return child.status();
  return std::unique_ptr<TrainerProcess>(
      new TrainerProcess(std::move(child).value(), std::move(on_event)));
}

TrainerProcess::TrainerProcess(std::unique_ptr<ChildProcess> child, std::function<void()> on_event)
    : child_(std::move(child)), on_event_(std::move(on_event)) {
  reader_ = std::thread([this] { ReadLoop(); });
}

TrainerProcess::~TrainerProcess() {
  {
    absl::MutexLock lock(&child_mu_);
    if (!child_->TryWait().has_value()) child_->Signal(SIGKILL);
  }
  reader_.join();
}

void TrainerProcess::ReadLoop() {
  while (std::optional<std::string> line = child_->ReadLine()) {
    if (line->empty()) continue;
    absl::StatusOr<TrainerEvent> event = ParseTrainerLine(*line);
    if (!event.ok()) {
      spdlog::warn("trainer pid {}: {}", child_->pid(), std::string(event.status().message()));
      continue;
    }
    {
      absl::MutexLock lock(&mu_);
      events_.push_back(*std::move(event));
    }
    if (on_event_) on_event_();
  }
  {
    absl::MutexLock lock(&mu_);
    output_closed_ = true;
  }
  if (on_event_) on_event_();
}

std::vector<TrainerEvent> TrainerProcess::TakeEvents() {
  absl::MutexLock lock(&mu_);
  std::vector<TrainerEvent> out;
  out.swap(events_);
  return out;
}

bool TrainerProcess::output_closed() const {
  absl::MutexLock lock(&mu_);
  return output_closed_ && events_.empty();
}

void TrainerProcess::Signal(int signal) {
  absl::MutexLock lock(&child_mu_);
  child_->Signal(signal);
}

std::optional<ExitStatus> TrainerProcess::TryWait() {
  absl::MutexLock lock(&child_mu_);
  return child_->TryWait();
}

}  // namespace flopwise::workerd
