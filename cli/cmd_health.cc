// `flopwise health`: is the coordinator serving? gRPC health checking, no
// token needed; the Kubernetes manifest's probes run it (the kubelet's own
// gRPC probe cannot speak TLS).
#include <cstdio>
#include <string>

#include "cli/command_registry.h"
#include "cli/service_connection.h"
#include "client/exit_codes.h"
#include "client/health.h"

namespace flopwise::cli {
namespace {

// Prints the serving status; 0 when SERVING, 1 otherwise, the error's code
// when the call fails (4: unreachable).
int Health(const client::ConnectFlags& flags, const std::string& service) {
  auto options = client::ResolveTokenlessConnectOptions(flags);
  if (!options.ok()) return ReportError("health", options.status());
  auto status = client::CheckHealth(*options, service);
  if (!status.ok()) return ReportError("health", status.status());
  std::printf("%s\n", status->c_str());
  return *status == "SERVING" ? client::kExitOk : client::kExitFailed;
}

const CommandRegistrar kHealth([](CLI::App& app, CliContext& ctx) {
  static client::ConnectFlags flags;
  static std::string service;
  auto* cmd = app.add_subcommand(
      "health", "Check that the coordinator serves (gRPC health checking; exit 0 when SERVING)");
  cmd->add_option("--service", service,
                  "One service (flopwise.v1.UserService, flopwise.v1.WorkerService); default: "
                  "the server");
  AddConnectionOptions(cmd, &flags);
  cmd->remove_option(cmd->get_option("--token-file"));  // the check needs no token
  cmd->callback([&ctx] { ctx.exit_code = Health(flags, service); });
});

}  // namespace
}  // namespace flopwise::cli
