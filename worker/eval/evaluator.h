// The evaluator (docs/evaluation.md): one checkpoint, a list of tasks, plain
// result structs. `flopwise-train eval` is a thin front end; a scheduler can
// call RunEvaluation directly and store EvalReportJson's lines.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/eval/continuation_task.h"
#include "worker/eval/multiple_choice.h"
#include "worker/eval/needle.h"
#include "worker/eval/task_names.h"
#include "worker/eval/validation.h"

namespace flopwise::eval {

struct EvalOptions {
  int context = 0;                       // the run's training context; required
  std::string data;                      // dataset folder, split folder, shard or raw token file
  std::string tokenizer;                 // default: the one the data's shard header names
  int64_t validation_tokens = 0;         // 0: DefaultValidationTokens(the checkpoint's tokens)
  uint64_t seed = 1;                     // validation windows, needle grid, bundled task
  int batch = 8;                         // windows per forward
  int threads = 0;                       // CPU threads (0: all)
  NeedleOptions needle;                  // lengths/depths empty: DefaultNeedleOptions; seed: `seed`
  ContinuationTaskOptions continuation;  // its seed is replaced by `seed`
  std::string figures_dir;               // needle heatmaps go here ("": none)
};

struct TaskResult {
  std::string task;
  std::optional<ValidationResult> validation;
  std::optional<NeedleResult> needle;
  std::optional<McResult> multiple_choice;
  int64_t forward_tokens = 0;  // token positions forwarded, padding included
  double seconds = 0.0;
  std::vector<std::string> figures;  // files written
};

struct EvalReport {
  std::string weights;  // the model.safetensors evaluated
  std::string arch;
  int64_t step = -1;             // from state.json; -1 when absent
  int64_t training_tokens = -1;  // from state.json; -1 when absent
  int context = 0;
  std::vector<TaskResult> results;
};

// `checkpoint`: a run directory (its newest checkpoint), a checkpoint
// directory, or a model.safetensors file; `tasks` as task_names.h names them.
// Each finished task is also passed to `on_result` when given. Errors name the flag, file or task
// at fault.
absl::StatusOr<EvalReport> RunEvaluation(
    const std::string& checkpoint, const std::vector<std::string>& tasks,
    const EvalOptions& options,
    const std::function<void(const EvalReport&, const TaskResult&)>& on_result = nullptr);

}  // namespace flopwise::eval
