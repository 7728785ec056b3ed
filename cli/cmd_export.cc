// `flopwise export`: a sweep's metric rows, checkpoints or evaluation results
// as CSV or JSON lines, or all of them as TensorBoard event files.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/command_registry.h"
#include "cli/service_connection.h"
#include "client/export.h"
#include "client/tensorboard_export.h"
#include "client/user_connection.h"

namespace flopwise::cli {
namespace {

// --format tensorboard: one folder per run under `output`.
int ExportTensorBoard(const client::UserConnection& connection,
                      const client::ExportOptions& options, const std::string& output) {
  absl::StatusOr<client::TensorBoardExportCounts> counts =
      client::ExportTensorBoard(*connection.stub, connection.token, options, output);
  if (!counts.ok()) return ReportError("export", counts.status());
  std::fprintf(stderr, "exported %lld events of %lld runs to %s (tensorboard --logdir %s)\n",
               static_cast<long long>(counts->events), static_cast<long long>(counts->runs),
               output.c_str(), output.c_str());
  return 0;
}

const CommandRegistrar kExport([](CLI::App& app, CliContext& ctx) {
  static client::ConnectFlags flags;
  static client::ExportOptions options;
  static std::string output;
  auto* cmd = app.add_subcommand(
      "export",
      "Export metric rows, checkpoints or eval results (CSV, JSON lines or TensorBoard files)");
  cmd->add_option("--format", options.format, "csv, jsonl or tensorboard")->capture_default_str();
  cmd->add_option("--what", options.what,
                  "metrics, checkpoints or evals (tensorboard: all of them, always)")
      ->capture_default_str();
  cmd->add_option("--sweep", options.sweep_id, "Sweep id (default: every sweep)");
  cmd->add_flag("--include-superseded", options.include_superseded,
                std::string("Also rows replaced by a later attempt (flagged)"));
  cmd->add_option("--output,-o", output,
                  "File to write (default: stdout); with tensorboard the folder, required");
  AddConnectionOptions(cmd, &flags);
  cmd->callback([&ctx, cmd] {
    if (options.format == "tensorboard" && cmd->count("--what") > 0) {
      ctx.exit_code = ReportError(
          "export", absl::InvalidArgumentError(
                        "--what: not used with --format tensorboard, which writes metrics, "
                        "checkpoint validation and eval results together"));
      return;
    }
    auto connection = client::ConnectUser(flags);
    if (!connection.ok()) {
      ctx.exit_code = ReportError("export", connection.status());
      return;
    }
    options.timeout_ms = std::max<int64_t>(connection->timeout_ms, 30000);
    if (options.format == "tensorboard") {
      ctx.exit_code = ExportTensorBoard(*connection, options, output);
      return;
    }
    std::ofstream file;
    if (!output.empty()) {
      file.open(output);
      if (!file) {
        ctx.exit_code = ReportError(
            "export", absl::PermissionDeniedError("--output " + output + ": cannot write"));
        return;
      }
    }
    std::ostream& out = output.empty() ? std::cout : file;
    absl::StatusOr<int64_t> rows =
        client::Export(*connection->stub, connection->token, options, out);
    if (!rows.ok()) {
      ctx.exit_code = ReportError("export", rows.status());
      return;
    }
    out.flush();
    std::fprintf(stderr, "exported %lld %s rows\n", static_cast<long long>(*rows),
                 options.what.c_str());
  });
});

}  // namespace
}  // namespace flopwise::cli
