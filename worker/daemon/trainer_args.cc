#include "worker/daemon/trainer_args.h"

#include <algorithm>
#include <filesystem>

#include "runspec/proto_json.h"

namespace flopwise::workerd {

absl::StatusOr<std::string> WriteRunConfig(const ::flopwise::v1::RunConfig& config,
                                           const std::string& run_dir) {
  const std::string path = (std::filesystem::path(run_dir) / kRunConfigFile).string();
  if (absl::Status s = runspec::WriteProtoJsonFile(config, path); !s.ok()) return s;
  return path;
}

std::vector<std::string> TrainerArgv(const std::string& trainer_path,
                                     const std::string& config_path, const std::string& run_dir,
                                     int threads, int64_t resume_step) {
  std::vector<std::string> argv = {trainer_path,
                                   "--config",
                                   config_path,
                                   "--out",
                                   run_dir,
                                   "--resume-step",
                                   std::to_string(std::max<int64_t>(0, resume_step))};
  if (threads > 0) {
    argv.emplace_back("--threads");
    argv.push_back(std::to_string(threads));
  }
  return argv;
}

}  // namespace flopwise::workerd
