#include "server/run_plan.h"

#include "runspec/proto_json.h"

namespace flopwise::server {

std::string RunPlanToJson(const RunPlan& plan) { return runspec::ProtoToJson(plan); }

absl::StatusOr<RunPlan> RunPlanFromJson(std::string_view json) {
  RunPlan plan;
  if (absl::Status s = runspec::ProtoFromJson(json, "config_json", &plan); !s.ok()) return s;
  return plan;
}

}  // namespace flopwise::server
