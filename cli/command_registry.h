// Sub-command registration for the `flopwise` CLI. Each cmd_*.cc defines a
// static CommandRegistrar whose function adds its sub-commands to the app;
// the callbacks it installs return the process exit code through `exit_code`.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

namespace flopwise::cli {

// Shared state of one CLI invocation.
struct CliContext {
  int exit_code = 0;
};

using CommandAdder = std::function<void(CLI::App& app, CliContext& ctx)>;

std::vector<CommandAdder>& CommandAdders();

struct CommandRegistrar {
  explicit CommandRegistrar(CommandAdder adder) { CommandAdders().push_back(std::move(adder)); }
};

}  // namespace flopwise::cli
