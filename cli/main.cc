// `flopwise`: the user's command line. Sub-commands live in cmd_*.cc.
#include <iostream>

#include "base/logging.h"
#include "cli/command_registry.h"

namespace flopwise::cli {

std::vector<CommandAdder>& CommandAdders() {
  static std::vector<CommandAdder> adders;
  return adders;
}

}  // namespace flopwise::cli

int main(int argc, char** argv) {
  using namespace flopwise::cli;
  CLI::App app{"flopwise: scaling-law studies of language models, end to end"};
  app.require_subcommand(1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off")
      ->capture_default_str();
  CliContext ctx;
  for (const CommandAdder& add : CommandAdders()) add(app, ctx);
  app.parse_complete_callback([&] {
    absl::Status s = flopwise::InitLogging("flopwise", log_level);
    if (!s.ok()) throw CLI::ValidationError(std::string(s.message()));
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return ctx.exit_code;
}
