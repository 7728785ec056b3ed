#include "server/proto_convert.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "server/run_plan.h"

namespace flopwise::server {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

// The states of the database and of the API, one pair per state: each
// conversion below is a lookup in one of these tables.
template <typename Stored, typename Sent, size_t kSize>
Sent SentFor(const std::pair<Stored, Sent> (&table)[kSize], Stored state, Sent unspecified) {
  for (const auto& [stored, sent] : table) {
    if (stored == state) return sent;
  }
  return unspecified;
}

constexpr std::pair<db::RunState, v1::RunState> kRunStates[] = {
    {db::RunState::kPending, v1::RUN_STATE_PENDING},
    {db::RunState::kRunning, v1::RUN_STATE_RUNNING},
    {db::RunState::kSucceeded, v1::RUN_STATE_SUCCEEDED},
    {db::RunState::kFailed, v1::RUN_STATE_FAILED},
    {db::RunState::kDiverged, v1::RUN_STATE_DIVERGED},
    {db::RunState::kCancelled, v1::RUN_STATE_CANCELLED},
};

constexpr std::pair<db::SweepState, v1::SweepState> kSweepStates[] = {
    {db::SweepState::kActive, v1::SWEEP_STATE_ACTIVE},
    {db::SweepState::kCompleted, v1::SWEEP_STATE_COMPLETED},
    {db::SweepState::kCancelled, v1::SWEEP_STATE_CANCELLED},
};

constexpr std::pair<db::AttemptState, v1::AttemptOutcome> kAttemptOutcomes[] = {
    {db::AttemptState::kActive, v1::ATTEMPT_OUTCOME_ACTIVE},
    {db::AttemptState::kSucceeded, v1::ATTEMPT_OUTCOME_SUCCEEDED},
    {db::AttemptState::kFailed, v1::ATTEMPT_OUTCOME_FAILED},
    {db::AttemptState::kDiverged, v1::ATTEMPT_OUTCOME_DIVERGED},
    {db::AttemptState::kExpired, v1::ATTEMPT_OUTCOME_EXPIRED},
    {db::AttemptState::kStopped, v1::ATTEMPT_OUTCOME_STOPPED},
    {db::AttemptState::kCancelled, v1::ATTEMPT_OUTCOME_CANCELLED},
};

constexpr std::pair<db::EvalJobState, v1::EvalJobState> kEvalJobStates[] = {
    {db::EvalJobState::kPending, v1::EVAL_JOB_STATE_PENDING},
    {db::EvalJobState::kRunning, v1::EVAL_JOB_STATE_RUNNING},
    {db::EvalJobState::kSucceeded, v1::EVAL_JOB_STATE_SUCCEEDED},
    {db::EvalJobState::kFailed, v1::EVAL_JOB_STATE_FAILED},
    {db::EvalJobState::kSuperseded, v1::EVAL_JOB_STATE_SUPERSEDED},
};

v1::RunState RunStateToProto(db::RunState state) {
  return SentFor(kRunStates, state, v1::RUN_STATE_UNSPECIFIED);
}

absl::StatusOr<db::RunState> RunStateFromProto(v1::RunState state) {
  for (const auto& [stored, sent] : kRunStates) {
    if (sent == state) return stored;
  }
  return absl::InvalidArgumentError(Cat("states: unknown run state ", static_cast<int>(state)));
}

v1::SweepState SweepStateToProto(db::SweepState state) {
  return SentFor(kSweepStates, state, v1::SWEEP_STATE_UNSPECIFIED);
}

v1::AttemptOutcome AttemptOutcomeToProto(db::AttemptState state) {
  return SentFor(kAttemptOutcomes, state, v1::ATTEMPT_OUTCOME_UNSPECIFIED);
}

v1::EvalJobState EvalJobStateToProto(db::EvalJobState state) {
  return SentFor(kEvalJobStates, state, v1::EVAL_JOB_STATE_UNSPECIFIED);
}

absl::Status RunRecordToRun(const db::RunRecord& record, const RunProgress* progress,
                            v1::Run* run) {
  ASSIGN_OR_RETURN(*run, RunPlanFromJson(record.config_json));
  const int64_t total_tokens = run->config().total_tokens();
  run->set_run_id(record.run_id);
  run->set_sweep_id(record.sweep_id);
  run->set_index_in_sweep(record.index_in_sweep);
  run->set_name(record.name);
  run->set_priority(record.priority);
  run->set_state(RunStateToProto(record.state));
  run->set_attempts(record.attempts);
  run->set_max_attempts(record.max_attempts);
  if (record.latest_metric) {
    run->set_step(record.latest_metric->row.step);
    run->set_tokens(record.latest_metric->row.tokens);
    run->set_loss(record.latest_metric->row.loss);
  }
  if (record.state == db::RunState::kRunning && progress != nullptr) {
    if (progress->step >= run->step()) {
      run->set_step(progress->step);
      run->set_tokens(std::max(run->tokens(), progress->tokens));
      if (progress->tokens > 0) run->set_loss(progress->loss);
    }
    run->set_worker_id(progress->worker_id);
  }
  if (record.state == db::RunState::kSucceeded)
    run->set_tokens(std::max(run->tokens(), total_tokens));
  if (total_tokens > 0) {
    run->set_progress_fraction(
        std::min(1.0, static_cast<double>(run->tokens()) / static_cast<double>(total_tokens)));
  }
  if (record.newest_checkpoint && record.newest_checkpoint->row.validation &&
      !std::isnan(record.newest_checkpoint->row.validation->loss)) {
    run->set_validation_loss(record.newest_checkpoint->row.validation->loss);
  }
  for (const db::AttemptReason& reason : record.failure_reasons) {
    run->add_failure_reasons(Cat("attempt ", reason.attempt, " (",
                                 db::AttemptStateName(reason.outcome), "): ", reason.reason));
  }
  return absl::OkStatus();
}

namespace {

// The fields a metric and a checkpoint report share, in both directions.
template <typename Row, typename Point>
void CommonFieldsToProto(const Row& row, Point* point) {
  point->set_seq(row.seq);
  point->set_step(row.step);
  point->set_tokens(row.tokens);
  point->set_flops(row.flops);
  point->set_loss(row.loss);
}

template <typename Row, typename Point>
Row CommonFieldsFromProto(const Point& point) {
  Row row;
  row.seq = point.seq();
  row.step = point.step();
  row.tokens = point.tokens();
  row.flops = point.flops();
  row.loss = point.loss();
  return row;
}

}  // namespace

void MetricRowToProto(const db::MetricRow& row, v1::MetricPoint* point) {
  CommonFieldsToProto(row, point);
  point->set_lr(row.lr);
  point->set_grad_norm(row.grad_norm);
  point->set_tokens_per_s(row.tokens_per_s);
}

db::MetricRow MetricRowFromProto(const v1::MetricPoint& point) {
  auto row = CommonFieldsFromProto<db::MetricRow>(point);
  row.lr = point.lr();
  row.grad_norm = point.grad_norm();
  row.tokens_per_s = point.tokens_per_s();
  return row;
}

void CheckpointRowToProto(const db::CheckpointRow& row, v1::CheckpointPoint* point) {
  CommonFieldsToProto(row, point);
  point->set_path(row.path);
  point->set_sha256(row.sha256);
  if (row.validation) {
    point->set_validation_loss(row.validation->loss);
    point->set_validation_bits_per_byte(row.validation->bits_per_byte);
    point->set_validation_tokens(row.validation->tokens);
  }
}

db::CheckpointRow CheckpointRowFromProto(const v1::CheckpointPoint& point) {
  auto row = CommonFieldsFromProto<db::CheckpointRow>(point);
  row.path = point.path();
  row.sha256 = point.sha256();
  if (point.validation_tokens() > 0) {  // 0: none ran
    row.validation = db::CheckpointValidation{.loss = point.validation_loss(),
                                              .bits_per_byte = point.validation_bits_per_byte(),
                                              .tokens = point.validation_tokens()};
  }
  return row;
}

}  // namespace flopwise::server
