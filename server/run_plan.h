// RunPlan: one run of an expanded sweep, everything the scheduler and a worker
// need. It is the plan part of flopwise.v1.Run: index_in_sweep, name, config
// (the RunConfig a worker trains), the accounting (params_non_embedding,
// params_embedding, estimated_flops, estimated_memory_bytes) and the
// scheduling fields (resources: what a worker must have free, the larger of
// the estimate and the spec's request; priority; max_attempts). Stored in the
// database as its protobuf JSON (runs.config_json).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "flopwise/v1/user_service.pb.h"

namespace flopwise::server {

using RunPlan = ::flopwise::v1::Run;

std::string RunPlanToJson(const RunPlan& plan);
// InvalidArgument "config_json: ..." when the JSON is not a run plan.
absl::StatusOr<RunPlan> RunPlanFromJson(std::string_view json);

}  // namespace flopwise::server
