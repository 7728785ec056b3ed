// `flopwise export`: a sweep's metric rows, checkpoints or evaluation results
// as CSV or JSON lines.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/command_registry.h"
#include "cli/service_connection.h"
#include "client/export.h"
#include "client/user_connection.h"

namespace flopwise::cli {
namespace {

const CommandRegistrar kExport([](CLI::App& app, CliContext& ctx) {
  static client::ConnectFlags flags;
  static client::ExportOptions options;
  static std::string output;
  auto* cmd = app.add_subcommand(
      "export", "Export metric rows, checkpoints or eval results (CSV or JSON lines)");
  cmd->add_option("--format", options.format, "csv or jsonl")->capture_default_str();
  cmd->add_option("--what", options.what, "metrics, checkpoints or evals")->capture_default_str();
  cmd->add_option("--sweep", options.sweep_id, "Sweep id (default: every sweep)");
  cmd->add_flag("--include-superseded", options.include_superseded,
                std::string("Also rows replaced by a later attempt (flagged)"));
  cmd->add_option("--output,-o", output, "File to write (default: stdout)");
  AddConnectionOptions(cmd, &flags);
  cmd->callback([&ctx] {
    auto connection = client::ConnectUser(flags);
    if (!connection.ok()) {
      ctx.exit_code = ReportError("export", connection.status());
      return;
    }
    options.timeout_ms = std::max<int64_t>(connection->timeout_ms, 30000);
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
