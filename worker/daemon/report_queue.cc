#include "worker/daemon/report_queue.h"

#include <spdlog/spdlog.h>

#include "client/errors.h"

namespace flopwise::workerd {

ReportQueue::ReportQueue(std::string lease_id, int attempt, const BackoffOptions& backoff,
                         int max_rows_per_batch)
    : lease_id_(std::move(lease_id)),
      attempt_(attempt),
      max_rows_per_batch_(max_rows_per_batch),
      backoff_(backoff, std::hash<std::string>{}(lease_id_)) {}

v1::ReportMetricsRequest& ReportQueue::OpenMetricsBatch() {
  if (!items_.empty()) {
    auto* batch = std::get_if<v1::ReportMetricsRequest>(&items_.back());
    if (batch != nullptr && batch->rows_size() < max_rows_per_batch_) return *batch;
  }
  v1::ReportMetricsRequest batch;
  batch.set_lease_id(lease_id_);
  batch.set_attempt(attempt_);
  items_.push_back(std::move(batch));
  return std::get<v1::ReportMetricsRequest>(items_.back());
}

void ReportQueue::AddLogPath(const std::string& log_path) {
  if (final_queued_) return;
  v1::ReportLogPathRequest request;
  request.set_lease_id(lease_id_);
  request.set_attempt(attempt_);
  request.set_log_path(log_path);
  items_.push_back(std::move(request));
}

void ReportQueue::AddStart(int64_t resumed_from_step) {
  if (final_queued_) return;
  // A new batch so the resume point travels ahead of every row of the attempt.
  v1::ReportMetricsRequest batch;
  batch.set_lease_id(lease_id_);
  batch.set_attempt(attempt_);
  batch.set_resumed_from_step(resumed_from_step);
  items_.push_back(std::move(batch));
}

void ReportQueue::AddProgress(const TrainerEvent& event) {
  if (final_queued_) return;
  v1::MetricPoint* row = OpenMetricsBatch().add_rows();
  row->set_seq(next_metric_seq_++);
  row->set_step(event.step);
  row->set_tokens(event.tokens);
  row->set_flops(event.flops);
  row->set_loss(event.loss);
  row->set_lr(event.lr);
  row->set_grad_norm(event.grad_norm);
  row->set_tokens_per_s(event.tokens_per_s);
}

void ReportQueue::AddCheckpoint(const TrainerEvent& event) {
  if (final_queued_) return;
  v1::ReportCheckpointRequest request;
  request.set_lease_id(lease_id_);
  request.set_attempt(attempt_);
  v1::CheckpointPoint* point = request.mutable_checkpoint();
  point->set_seq(next_checkpoint_seq_++);
  point->set_step(event.step);
  point->set_tokens(event.tokens);
  point->set_flops(event.flops);
  point->set_loss(event.loss);
  point->set_path(event.path);
  point->set_sha256(event.sha256);
  point->set_validation_loss(event.validation_loss);
  point->set_validation_bits_per_byte(event.validation_bits_per_byte);
  point->set_validation_tokens(event.validation_tokens);
  items_.push_back(std::move(request));
}

void ReportQueue::AddComplete(const TrainerEvent& done) {
  if (final_queued_) return;
  v1::CompleteRunRequest request;
  request.set_lease_id(lease_id_);
  request.set_attempt(attempt_);
  request.set_step(done.step);
  request.set_tokens(done.tokens);
  request.set_flops(done.flops);
  request.set_loss(done.loss);
  items_.push_back(std::move(request));
  final_queued_ = true;
}

void ReportQueue::AddFail(const std::string& reason, bool diverged) {
  if (final_queued_) return;
  v1::FailRunRequest request;
  request.set_lease_id(lease_id_);
  request.set_attempt(attempt_);
  request.set_reason(reason);
  request.set_diverged(diverged);
  items_.push_back(std::move(request));
  final_queued_ = true;
}

void ReportQueue::AddRelease(const std::string& reason) {
  if (final_queued_) return;
  v1::ReleaseRunRequest request;
  request.set_lease_id(lease_id_);
  request.set_attempt(attempt_);
  request.set_reason(reason);
  items_.push_back(std::move(request));
  final_queued_ = true;
}

void ReportQueue::AddEvalResult(const TrainerEvent& eval) {
  if (final_queued_) return;
  v1::ReportEvalResultRequest request;
  request.set_lease_id(lease_id_);
  request.set_attempt(attempt_);
  request.set_task(eval.task);
  for (const auto& [name, value] : eval.metrics) {
    v1::EvalMetric* metric = request.add_metrics();
    metric->set_name(name);
    metric->set_value(value);
  }
  for (size_t i = 0; i < eval.figures.size(); ++i) {
    v1::EvalMetric* metric = request.add_metrics();
    metric->set_name("figure[" + std::to_string(i) + "]");
    metric->set_text(eval.figures[i]);
  }
  items_.push_back(std::move(request));
}

void ReportQueue::AddEvalComplete() {
  if (final_queued_) return;
  v1::CompleteEvalJobRequest request;
  request.set_lease_id(lease_id_);
  request.set_attempt(attempt_);
  items_.push_back(std::move(request));
  final_queued_ = true;
}

void ReportQueue::AddEvalFail(const std::string& reason, bool retry) {
  if (final_queued_) return;
  v1::FailEvalJobRequest request;
  request.set_lease_id(lease_id_);
  request.set_attempt(attempt_);
  request.set_reason(reason);
  request.set_retry(retry);
  items_.push_back(std::move(request));
  final_queued_ = true;
}

absl::Status ReportQueue::Send(CoordinatorLink& link, const Item& item) {
  return std::visit(
      [&](const auto& request) -> absl::Status {
        using T = std::decay_t<decltype(request)>;
        if constexpr (std::is_same_v<T, v1::ReportMetricsRequest>) {
          return link.ReportMetrics(request);
        } else if constexpr (std::is_same_v<T, v1::ReportCheckpointRequest>) {
          return link.ReportCheckpoint(request);
        } else if constexpr (std::is_same_v<T, v1::CompleteRunRequest>) {
          return link.CompleteRun(request);
        } else if constexpr (std::is_same_v<T, v1::FailRunRequest>) {
          return link.FailRun(request);
        } else if constexpr (std::is_same_v<T, v1::ReleaseRunRequest>) {
          return link.ReleaseRun(request);
        } else if constexpr (std::is_same_v<T, v1::ReportEvalResultRequest>) {
          return link.ReportEvalResult(request);
        } else if constexpr (std::is_same_v<T, v1::CompleteEvalJobRequest>) {
          return link.CompleteEvalJob(request);
        } else if constexpr (std::is_same_v<T, v1::ReportLogPathRequest>) {
          return link.ReportLogPath(request);
        } else {
          return link.FailEvalJob(request);
        }
      },
      item);
}

ReportQueue::FlushResult ReportQueue::Flush(CoordinatorLink& link, int64_t now_ms) {
  if (finished_) return FlushResult::kFinished;
  if (now_ms < retry_at_ms_) return FlushResult::kWaiting;
  while (!items_.empty()) {
    const bool is_final = items_.size() == 1 && final_queued_;
    absl::Status status = Send(link, items_.front());
    if (status.ok()) {
      last_error_ = absl::OkStatus();
      backoff_.Reset();
      items_.pop_front();
      if (is_final) {
        finished_ = true;
        return FlushResult::kFinished;
      }
      continue;
    }
    last_error_ = status;
    const absl::StatusCode code = status.code();
    if (code == absl::StatusCode::kNotFound || code == absl::StatusCode::kFailedPrecondition) {
      spdlog::info("lease {}: ended on the coordinator ({})", lease_id_, client::OneLine(status));
      items_.clear();
      return FlushResult::kLeaseEnded;
    }
    if (code == absl::StatusCode::kInvalidArgument) {
      // Resending the same request cannot succeed; keep the rest flowing.
      spdlog::error("lease {}: report rejected, skipped: {}", lease_id_, client::OneLine(status));
      items_.pop_front();
      if (is_final) {
        finished_ = true;
        return FlushResult::kFinished;
      }
      continue;
    }
    const int64_t delay_ms = backoff_.NextDelayMs();
    retry_at_ms_ = now_ms + delay_ms;
    spdlog::warn("lease {}: report failed ({}), retry in {} ms, {} queued", lease_id_,
                 client::OneLine(status), delay_ms, items_.size());
    return FlushResult::kWaiting;
  }
  return FlushResult::kIdle;
}

}  // namespace flopwise::workerd
