#include "client/sweep_records.h"

#include <map>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "client/errors.h"
#include "client/pages.h"
#include "client/sweep_status.h"
#include "fitting/sweep_records.h"
#include "runspec/architecture.h"

namespace flopwise::client {
namespace {

namespace v1 = ::flopwise::v1;

// Run id -> name, of the sweep's runs. NotFound for an unknown sweep.
absl::StatusOr<std::map<int64_t, std::string>> RunNames(const UserConnection& connection,
                                                        int64_t sweep_id) {
  RETURN_IF_ERROR(GetSweep(connection, sweep_id).status());
  ASSIGN_OR_RETURN(const std::vector<v1::Run> runs, ListRuns(connection, sweep_id, {}));
  std::map<int64_t, std::string> names;
  for (const v1::Run& run : runs) names[run.run_id()] = run.name();
  return names;
}

}  // namespace

absl::StatusOr<SweepRecords> FetchSweepRecords(const UserConnection& connection, int64_t sweep_id) {
  ASSIGN_OR_RETURN(const auto names, RunNames(connection, sweep_id));
  v1::GetCheckpointsRequest request;
  request.set_sweep_id(sweep_id);
  std::vector<v1::CheckpointRow> checkpoints;
  RETURN_IF_ERROR(ForEachPage(connection, &v1::UserService::StubInterface::GetCheckpoints, request,
                              [&](v1::GetCheckpointsResponse& page) {
                                for (v1::CheckpointRow& row : *page.mutable_checkpoints()) {
                                  checkpoints.push_back(std::move(row));
                                }
                                return absl::OkStatus();
                              }));
  SweepRecords out;
  for (const v1::CheckpointRow& row : checkpoints) {
    auto name = names.find(row.run_id());
    if (name == names.end()) continue;
    const v1::CheckpointPoint& c = row.checkpoint();
    std::optional<fitting::CheckpointRecord> record = fitting::RecordFromCheckpoint(
        {.arch = runspec::ArchName(row.arch()),
         .run = name->second,
         .params_non_embedding = row.params_non_embedding(),
         .tokens = c.tokens(),
         .flops = c.flops(),
         .loss = c.loss(),
         .validation_loss =
             c.validation_tokens() > 0 ? c.validation_loss() : fitting::kNoValidationLoss});
    if (!record) {
      ++out.left_out;
      continue;
    }
    out.records.push_back(*std::move(record));
  }
  if (out.records.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("sweep ", sweep_id,
                     " has no checkpoints with positive, finite tokens, "
                     "flops and loss yet: nothing to plot"));
  }
  return out;
}

}  // namespace flopwise::client
