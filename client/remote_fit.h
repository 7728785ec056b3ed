// Fits on the coordinator (FitScalingLaw, QueryOptimal): the sweep's
// effective checkpoints are fitted there and cached, and the answer carries
// the same text and JSON documents as an offline fit (fitting/report.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/user_connection.h"
#include "fitting/fit.h"

namespace flopwise::client {

struct RemoteFitQuery {
  int64_t sweep_id = 0;
  std::string method = "all";          // paper, approach2, approach3 or all
  std::string unit = "flops";          // flops or pfdays
  std::string convention = "formula";  // formula or 6nd
  int bootstrap = 0;
  double level = 0.95;
  uint64_t seed = 1;
  double min_tokens = 0;
  double skip_fraction = 0;
  std::string metric;    // train, validation; "": validation when every checkpoint has it
  std::string envelope;  // pareto or paper; "": pareto
  std::string group_by;  // "": auto (fitting/grouping.h)
  std::string grid;      // "": every run
  double budget = 0;     // > 0: QueryOptimal for this budget (in unit); 0: FitScalingLaw
  // Shapes to round N_opt to (with a budget; empty: the coordinator's
  // presets). Rows of an architecture the coordinator does not train could
  // never match a run, so they are not sent.
  std::vector<fitting::ShapeOption> shapes;
};

struct RemoteFitReport {
  std::string json, text;             // FitReportJson / FitAnswerText and the side studies
  std::vector<std::string> warnings;  // about the inputs (checkpoints left out)
};

// The coordinator checks the query (InvalidArgument naming the field) and
// answers NotFound for an unknown sweep.
absl::StatusOr<RemoteFitReport> FitOnCoordinator(const UserConnection& connection,
                                                 const RemoteFitQuery& query);

}  // namespace flopwise::client
