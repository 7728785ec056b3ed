// `flopwise`: the user's command line. Sub-commands live in cmd_*.cc. Exit
// codes: client/exit_codes.h (docs/operations.md "Exit codes").
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "base/closest_name.h"
#include "base/logging.h"
#include "cli/command_registry.h"
#include "client/exit_codes.h"

namespace flopwise::cli {

std::vector<CommandAdder>& CommandAdders() {
  static std::vector<CommandAdder> adders;
  return adders;
}

namespace {

// The first argument that is neither an option of `app` nor an option's
// value: the command the user typed; empty when there is none.
std::string CommandWord(const CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.empty() || arg[0] != '-') return arg;
    const CLI::Option* option = app.get_option_no_throw(arg);
    if (option != nullptr && option->get_expected_min() > 0) ++i;  // skip its value
  }
  return "";
}

// When the command word names no sub-command: "unknown command 'stauts'; did
// you mean 'status'?" on stderr and true.
bool ReportUnknownCommand(const CLI::App& app, int argc, char** argv) {
  const std::string word = CommandWord(app, argc, argv);
  if (word.empty()) return false;
  std::vector<std::string> names;
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (command->get_name() == word) return false;
    names.push_back(command->get_name());
  }
  const std::optional<std::string> near = ClosestName(word, names);
  std::fprintf(stderr, "flopwise: unknown command '%s'%s (flopwise --help lists them)\n",
               word.c_str(), near ? ("; did you mean '" + *near + "'?").c_str() : "");
  return true;
}

}  // namespace
}  // namespace flopwise::cli

int main(int argc, char** argv) {
  using namespace flopwise::cli;
  namespace client = flopwise::client;
  CLI::App app{"flopwise: scaling-law studies of language models, end to end"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("flopwise ") + FLOPWISE_VERSION);
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
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    if (app.get_subcommands().empty() && ReportUnknownCommand(app, argc, argv)) {
      return client::kExitUsage;
    }
    app.exit(e);
    return client::kExitUsage;
  }
  return ctx.exit_code;
}
