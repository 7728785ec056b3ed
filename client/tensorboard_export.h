// `flopwise export --format tensorboard`: a sweep's training metrics,
// checkpoint validation and evaluation results as TensorBoard event files
// (client/event_file.h), one folder per run so that TensorBoard draws each
// run as its own curve.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/status/statusor.h"
#include "client/export.h"
#include "flopwise/v1/user_service.grpc.pb.h"

namespace flopwise::client {

struct TensorBoardExportCounts {
  int64_t runs = 0;    // run folders written to
  int64_t events = 0;  // events written (the version records not counted)
};

// Writes, for every run of options.sweep_id (0: of every sweep) that has
// rows, DIR/sweep-<sweep id>/<run name>-run-<run id>/events.out.tfevents.
// <unix seconds>.<hostname> with, at each row's step:
//   train/loss, train/lr, train/grad_norm, train/tokens_per_s, train/tokens,
//   train/flops           a metric row (effective rows only)
//   validation/loss, validation/bits_per_byte
//                         a checkpoint the trainer validated
//   eval/<task>/<metric>  an evaluation result with a value (text rows, the
//                         needle heatmaps' paths, are left out)
// Every event's wall time is the export's: the coordinator keeps no time per
// row. options.what and options.format are not read. InvalidArgument naming
// the flag for include_superseded, an empty `dir` or one that is a file;
// FailedPrecondition naming the folder, before anything is written, when a
// run's folder exists and is not empty.
absl::StatusOr<TensorBoardExportCounts> ExportTensorBoard(
    ::flopwise::v1::UserService::StubInterface& stub, const std::string& token,
    const ExportOptions& options, const std::filesystem::path& dir);

}  // namespace flopwise::client
