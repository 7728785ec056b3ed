#include "worker/train/eval_command.h"

#include <cstdio>

#include "worker/eval/results_json.h"
#include "worker/train/trainer.h"

namespace flopwise::train {

CLI::App* AddEvalCommand(CLI::App* app, EvalCommand* command) {
  CLI::App* evaluate = app->add_subcommand("eval", "Evaluate a checkpoint (docs/evaluation.md)");
  evaluate
      ->add_option("--checkpoint", command->checkpoint,
                   "Run directory, step-* directory or model.safetensors")
      ->required();
  evaluate
      ->add_option("--context", command->options.context, "The run's context (tokens per sequence)")
      ->required();
  evaluate
      ->add_option("--tasks", command->tasks,
                   "validation, needle, needle-easy, needle-standard, brown-continuation, "
                   "or a .jsonl multiple-choice file")
      ->delimiter(',');
  evaluate->add_option("--data", command->options.data,
                       "Dataset folder (its validation split), split, shard or token file");
  evaluate->add_option("--tokenizer", command->options.tokenizer,
                       "Tokenizer (default: the data's)");
  evaluate->add_option("--validation-tokens", command->options.validation_tokens,
                       "Tokens to score (default: 0.12 x the checkpoint's tokens, at most 2^20)");
  evaluate->add_option("--seed", command->options.seed,
                       "Validation windows, needle grid and bundled task");
  evaluate->add_option("--batch", command->options.batch, "Windows per forward");
  evaluate
      ->add_option("--needle-lengths", command->options.needle.lengths,
                   "Needle context lengths (default: context x 1/4..1)")
      ->delimiter(',');
  evaluate
      ->add_option("--needle-depths", command->options.needle.depths,
                   "Needle depths in [0,1] (default 0,0.25,0.5,0.75,1)")
      ->delimiter(',');
  evaluate->add_option("--needle-trials", command->options.needle.trials,
                       "Needle cases per grid cell");
  evaluate->add_option("--needle-threshold", command->options.needle.threshold,
                       "Cell success for the NIAH score (0-10)");
  evaluate->add_option("--continuation-documents", command->options.continuation.documents,
                       "Documents of the brown-continuation task");
  evaluate->add_option("--figures", command->options.figures_dir,
                       "Write needle heatmaps (SVG, PNG) here");
  evaluate->add_option("--threads", command->options.threads, "CPU threads (0: all)");
  return evaluate;
}

int RunEvalCommand(const EvalCommand& command) {
  auto report =
      eval::RunEvaluation(command.checkpoint, command.tasks, command.options,
                          [](const eval::EvalReport& r, const eval::TaskResult& t) {
                            std::printf("%s\n", eval::TaskResultJson(r, t).dump().c_str());
                            std::fflush(stdout);
                          });
  if (!report.ok()) {
    std::fprintf(stderr, "flopwise-train eval: %s\n",
                 std::string(report.status().message()).c_str());
    return ExitCodeOf(report.status());
  }
  std::fputs(eval::FormatSummary(*report).c_str(), stderr);
  return 0;
}

}  // namespace flopwise::train
