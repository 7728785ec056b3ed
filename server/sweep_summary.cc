#include "server/sweep_summary.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "base/status_macros.h"
#include "server/proto_convert.h"

namespace flopwise::server {

void SummarizeRuns(std::span<const RunTally> runs, v1::Sweep* sweep) {
  sweep->clear_runs_by_state();
  int32_t finished = 0;
  double tokens_done = 0, tokens_total = 0;
  for (const RunTally& run : runs) {
    (*sweep->mutable_runs_by_state())[v1::RunState_Name(RunStateToProto(run.state))] += 1;
    finished += db::IsTerminal(run.state) ? 1 : 0;
    tokens_total += static_cast<double>(run.token_budget);
    tokens_done += static_cast<double>(std::clamp<int64_t>(run.tokens, 0, run.token_budget));
  }
  const int32_t total = static_cast<int32_t>(runs.size());
  sweep->set_runs_total(total);
  sweep->set_runs_finished(finished);
  sweep->set_progress_fraction(tokens_total > 0 ? tokens_done / tokens_total : 0);
  if (sweep->state() == v1::SWEEP_STATE_ACTIVE && total > 0 && finished == total) {
    sweep->set_state(v1::SWEEP_STATE_COMPLETED);
  }
}

absl::Status FillSweep(Scheduler& scheduler, const db::SweepRecord& record, v1::Sweep* sweep) {
  sweep->set_sweep_id(record.sweep_id);
  sweep->set_name(record.name);
  sweep->set_priority(record.priority);
  sweep->set_state(SweepStateToProto(record.state));
  sweep->set_created_ms(record.created_ms);
  sweep->set_spec_yaml(record.spec_yaml);
  db::RunFilter filter;
  filter.sweep_id = record.sweep_id;
  ASSIGN_OR_RETURN(const std::vector<db::RunRecord> runs, scheduler.store()->ListRuns(filter));
  std::vector<RunTally> tallies;
  tallies.reserve(runs.size());
  for (const db::RunRecord& run : runs) {
    const std::optional<RunProgress> progress = scheduler.Progress(run.run_id);
    v1::Run view;
    RETURN_IF_ERROR(RunRecordToRun(run, progress ? &*progress : nullptr, &view));
    tallies.push_back({run.state, view.tokens(), run.token_budget});
  }
  SummarizeRuns(tallies, sweep);
  return absl::OkStatus();
}

}  // namespace flopwise::server
