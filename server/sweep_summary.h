// A sweep's summary as GetSweep, ListSweeps and every WatchRuns update carry
// it: the coordinator is the one source of a sweep's state, run counts and
// progress; clients only render them.
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "db/records.h"
#include "flopwise/v1/user_service.pb.h"
#include "server/scheduler.h"

namespace flopwise::server {

// One run as its sweep's summary counts it.
struct RunTally {
  db::RunState state = db::RunState::kPending;
  int64_t tokens = 0;        // trained so far, as the run's view shows them
  int64_t token_budget = 0;  // the run's total tokens
};

// Sets runs_total, runs_by_state (RunState name -> count), runs_finished
// (terminal states) and progress_fraction = sum of min(tokens, budget) / sum
// of budgets (0 without budgets). sweep->state() is kept, except that an
// active sweep whose runs are all terminal becomes completed: the scheduler
// stores that just after the last run ends, and a reader may come between.
void SummarizeRuns(std::span<const RunTally> runs, v1::Sweep* sweep);

// `record` as a v1::Sweep with its summary over its runs' current views (the
// store's rows with the scheduler's in-memory progress, as ListRuns shows
// them). Errors: the store's, or a run whose stored config cannot be read.
absl::Status FillSweep(Scheduler& scheduler, const db::SweepRecord& record, v1::Sweep* sweep);

}  // namespace flopwise::server
