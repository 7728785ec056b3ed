// Store: counts for the coordinator's metrics.
#include "base/status_macros.h"
#include "db/store.h"
#include "db/store_impl.h"

namespace flopwise::db {

using internal::Connection;
using internal::Statement;

absl::StatusOr<StoreCounts> Store::Counts() {
  return impl_->Read("Counts", [&](Connection& conn) -> absl::StatusOr<StoreCounts> {
    StoreCounts counts;
    ASSIGN_OR_RETURN(Statement runs,
                     conn.Prepare("SELECT state, COUNT(*) FROM runs GROUP BY state", "Counts"));
    while (true) {
      ASSIGN_OR_RETURN(const bool row, runs.Step());
      if (!row) break;
      ASSIGN_OR_RETURN(const RunState state, ParseRunState(runs.ColumnText(0)));
      counts.runs_by_state[state] = runs.ColumnInt64(1);
    }
    ASSIGN_OR_RETURN(Statement sweeps,
                     conn.Prepare("SELECT state, COUNT(*) FROM sweeps GROUP BY state", "Counts"));
    while (true) {
      ASSIGN_OR_RETURN(const bool row, sweeps.Step());
      if (!row) break;
      ASSIGN_OR_RETURN(const SweepState state, ParseSweepState(sweeps.ColumnText(0)));
      counts.sweeps_by_state[state] = sweeps.ColumnInt64(1);
    }
    ASSIGN_OR_RETURN(counts.metric_rows, conn.QueryInt64("SELECT COUNT(*) FROM metrics", "Counts"));
    return counts;
  });
}

}  // namespace flopwise::db
