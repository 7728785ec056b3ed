// `flopwise-train eval`: the command-line front end of the evaluator
// (worker/eval, docs/evaluation.md). Built into the flopwise-train program
// only; the flopwise_train library does not depend on the evaluator.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "worker/eval/evaluator.h"

namespace flopwise::train {

struct EvalCommand {
  std::string checkpoint;
  std::vector<std::string> tasks = {"validation"};
  eval::EvalOptions options;
};

// Adds the `eval` subcommand and its flags to `app`, filling `command`.
CLI::App* AddEvalCommand(CLI::App* app, EvalCommand* command);

// Runs the tasks: one JSON line per task on stdout as it finishes, the
// summary on stderr. Returns the exit code (0, or ExitCodeOf the error with
// the message on stderr).
int RunEvalCommand(const EvalCommand& command);

}  // namespace flopwise::train
