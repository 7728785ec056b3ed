#include "worker/daemon/eval_args.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace flopwise::workerd {

std::vector<std::string> EvalArgv(const std::string& trainer_path,
                                  const ::flopwise::v1::EvalLease& lease,
                                  const std::string& figures_dir, int threads) {
  const ::flopwise::v1::RunConfig& config = lease.config();
  const ::flopwise::v1::EvaluationSpec& evaluation = lease.evaluation();
  std::vector<std::string> argv = {trainer_path,   "eval",
                                   "--checkpoint", lease.checkpoint_path(),
                                   "--context",    std::to_string(config.model().context()),
                                   "--tasks",      absl::StrJoin(evaluation.tasks(), ","),
                                   "--figures",    figures_dir};
  auto add = [&](const char* flag, const std::string& value) {
    argv.emplace_back(flag);
    argv.push_back(value);
  };
  if (threads > 0) add("--threads", std::to_string(threads));
  const std::string& data =
      config.validation_data().empty() ? config.data_path() : config.validation_data();
  if (!data.empty()) add("--data", data);
  if (evaluation.validation_tokens() > 0) {
    add("--validation-tokens", std::to_string(evaluation.validation_tokens()));
  }
  if (evaluation.seed() > 0) add("--seed", std::to_string(evaluation.seed()));
  if (!evaluation.needle_lengths().empty()) {
    add("--needle-lengths", absl::StrJoin(evaluation.needle_lengths(), ","));
  }
  if (!evaluation.needle_depths().empty()) {
    add("--needle-depths", absl::StrJoin(evaluation.needle_depths(), ","));
  }
  if (evaluation.needle_trials() > 0) {
    add("--needle-trials", std::to_string(evaluation.needle_trials()));
  }
  return argv;
}

absl::Status CheckTaskFiles(const ::flopwise::v1::EvalLease& lease) {
  for (const std::string& task : lease.evaluation().tasks()) {
    if (!absl::EndsWith(task, ".jsonl")) continue;
    std::ifstream in(task);
    if (!in) {
      return absl::FailedPreconditionError(
          absl::StrCat("task file ", task, ": cannot read (", std::strerror(errno), ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace flopwise::workerd
