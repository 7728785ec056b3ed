// How the worker starts flopwise-train for one leased run: the run config as a
// file in the run directory, and a command line that names it
// (docs/training.md).
#pragma once

#include <cstdint>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "flopwise/v1/types.pb.h"

namespace flopwise::workerd {

// The file name of the run config in a run directory.
inline constexpr char kRunConfigFile[] = "run_config.json";

// Writes `config` as protobuf JSON to RUN_DIR/run_config.json (replacing the
// previous attempt's) and returns its path.
absl::StatusOr<std::string> WriteRunConfig(const ::flopwise::v1::RunConfig& config,
                                           const std::string& run_dir);

// {trainer_path, --config, config_path, --out, run_dir, --resume-step S,
// --threads, threads, --device cuda} (--threads only when positive, --device
// only for a run granted GPUs: the worker has made them the only visible
// ones, so the first is cuda). S is the lease's resume step (the
// coordinator's newest checkpoint, 0 for none): the trainer never resumes
// past it, even from a newer folder a trainer that outlived its lease wrote
// meanwhile.
std::vector<std::string> TrainerArgv(const std::string& trainer_path,
                                     const std::string& config_path, const std::string& run_dir,
                                     int threads, int64_t resume_step, bool on_gpu);

// A data-parallel rank's place in its run (docs/distributed.md).
struct RankArgs {
  int world_size = 1;
  int rank = 0;
  std::string rendezvous;  // the store's URI
  // The worker's --rank-address and --rank-interface ("": not passed, the
  // trainer listens on 127.0.0.1).
  std::string address;
  std::string interface;
};

// Appends a rank's flags: --world-size N --rank R --rendezvous URI, then
// --rank-address or --rank-interface when set. Secrets never go on the
// command line.
void AppendRankArgs(const RankArgs& rank, std::vector<std::string>* argv);

// Writes `text` to `path` readable and writable by the owner only (0600),
// replacing the file. FailedPrecondition naming the path when it cannot.
absl::Status WritePrivateFile(const std::string& path, const std::string& text);

}  // namespace flopwise::workerd
