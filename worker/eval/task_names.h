// The names of the evaluation tasks (docs/evaluation.md), in one place: the
// evaluator expands and runs them, the coordinator checks a sweep spec's
// `evaluation.tasks` at submit. A small library of its own
// (flopwise_eval_task_names), so the coordinator needs no model code for it.
#pragma once

#include <span>
#include <string_view>

#include "absl/status/status.h"

namespace flopwise::eval {

// "validation", "needle" (both modes), "needle-easy", "needle-standard",
// "brown-continuation".
std::span<const std::string_view> TaskNames();

// A multiple-choice task file: a path ending in ".jsonl".
bool IsTaskFile(std::string_view task);

// OK for a name of TaskNames() or a task file; otherwise InvalidArgument
// `unknown task "mmlu-xyz" (known: validation, needle, ..., or a .jsonl task
// file)`, for the caller to prefix with the flag or field at fault.
absl::Status CheckTaskName(std::string_view task);

}  // namespace flopwise::eval
