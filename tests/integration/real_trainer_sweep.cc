#include "tests/integration/real_trainer_sweep.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "worker/data/prepare.h"

namespace flopwise::testing {

std::string PrepareTinyData(const TempDir& dir) {
  const std::string text = dir.Sub("text");
  std::filesystem::create_directories(text);
  for (int d = 0; d < 40; ++d) {
    std::ofstream doc(text + "/doc" + std::to_string(d) + ".txt");
    for (int s = 0; s < 40; ++s) doc << "Mill " << d << " turns by the river, wheel " << s << ".\n";
  }
  data::PrepareOptions prepare;
  prepare.tokenizer = "byte";
  prepare.inputs = {text};
  prepare.out_dir = dir.Sub("data");
  prepare.validation_fraction = 0.2;
  prepare.threads = 1;
  if (auto summary = data::PrepareDataset(prepare); !summary.ok()) {
    ADD_FAILURE() << "prepare " << text << ": " << summary.status();
    return "";
  }
  return prepare.out_dir;
}

std::string RealTrainerSpec(const std::string& name, const std::string& data_dir,
                            const RealTrainerRun& run) {
  std::ostringstream spec;
  spec << "name: " << name << "\n"
       << "max_attempts: 5\n"
       << "seed: 1\n"
       << "vocab: 264\n"  // the byte tokenizer's
       << "data:\n  path: " << data_dir << "\n"
       << "architectures: [" << run.arch << "]\n"
       << "sizes: [cpu-1]\n"
       << "contexts: [64]\n"
       << "batch_tokens: " << run.batch_tokens << "\n"
       << "tokens: " << int64_t{run.steps} * run.batch_tokens << "\n"
       << "checkpoint:\n  every_tokens: " << int64_t{run.checkpoint_steps} * run.batch_tokens
       << "\n"
       << "log_every_steps: 1\n"
       << "optimizer:\n  lr: 3e-3\n"
       << "resources:\n  cpu_cores: " << run.cpu_cores << "\n";
  if (run.replicas > 1) spec << "  replicas: " << run.replicas << "\n";
  return spec.str();
}

std::map<int64_t, double> LossesByStep(Cluster& cluster, int64_t sweep_id) {
  std::map<int64_t, double> losses;
  for (const v1::MetricRow& row : cluster.Metrics(sweep_id, /*include_superseded=*/false)) {
    losses[row.point().step()] = row.point().loss();
  }
  return losses;
}

}  // namespace flopwise::testing
