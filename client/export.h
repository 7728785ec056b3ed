// Exporting a sweep's metric rows, checkpoints or evaluation results from the
// coordinator as CSV or JSON lines (`flopwise export`). Every row names its
// sweep, run, arch, attempt and step; metric and checkpoint rows their tokens,
// flops and loss, eval rows their job, task, metric, value and text.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "flopwise/v1/user_service.grpc.pb.h"

namespace flopwise::client {

struct ExportOptions {
  int64_t sweep_id = 0;          // 0: every sweep, finished ones included
  std::string format = "jsonl";  // "jsonl" or "csv" (client/tensorboard_export.h: "tensorboard")
  std::string what = "metrics";  // "metrics", "checkpoints" or "evals"
  bool include_superseded = false;
  int64_t timeout_ms = 30000;  // per call
};

// Writes the rows to `out` as each page of them arrives (only one page is
// held at a time). InvalidArgument naming the option for a bad format/what;
// the coordinator's error otherwise (rows written before it stay written).
// Returns the rows written.
absl::StatusOr<int64_t> Export(::flopwise::v1::UserService::StubInterface& stub,
                               const std::string& token, const ExportOptions& options,
                               std::ostream& out);

}  // namespace flopwise::client
