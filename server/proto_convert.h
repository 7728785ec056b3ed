// Conversions between the coordinator's plain records (db/) and the flopwise.v1
// messages, and from absl::Status to grpc::Status.
#pragma once

#include <grpcpp/support/status.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "db/records.h"
#include "flopwise/v1/types.pb.h"
#include "flopwise/v1/user_service.pb.h"
#include "server/scheduler.h"

namespace flopwise::server {

// The one place where internal statuses become RPC statuses (codes match).
grpc::Status ToGrpcStatus(const absl::Status& status);

v1::RunState RunStateToProto(db::RunState state);
absl::StatusOr<db::RunState> RunStateFromProto(v1::RunState state);
v1::SweepState SweepStateToProto(db::SweepState state);
v1::AttemptOutcome AttemptOutcomeToProto(db::AttemptState state);
v1::EvalJobState EvalJobStateToProto(db::EvalJobState state);

// A stored run with its latest progress; `progress` overlays newer heartbeat
// progress when present.
absl::Status RunRecordToRun(const db::RunRecord& record, const RunProgress* progress, v1::Run* run);

void MetricRowToProto(const db::MetricRow& row, v1::MetricPoint* point);
db::MetricRow MetricRowFromProto(const v1::MetricPoint& point);
void CheckpointRowToProto(const db::CheckpointRow& row, v1::CheckpointPoint* point);
db::CheckpointRow CheckpointRowFromProto(const v1::CheckpointPoint& point);

}  // namespace flopwise::server
