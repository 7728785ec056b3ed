#include "worker/daemon/trainer_args.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"

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
                                     int threads, int64_t resume_step, bool on_gpu) {
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
  if (on_gpu) {
    argv.emplace_back("--device");
    argv.emplace_back("cuda");
  }
  return argv;
}

void AppendRankArgs(const RankArgs& rank, std::vector<std::string>* argv) {
  argv->insert(argv->end(), {"--world-size", std::to_string(rank.world_size), "--rank",
                             std::to_string(rank.rank), "--rendezvous", rank.rendezvous});
  if (!rank.address.empty()) argv->insert(argv->end(), {"--rank-address", rank.address});
  if (!rank.interface.empty()) argv->insert(argv->end(), {"--rank-interface", rank.interface});
}

absl::Status WritePrivateFile(const std::string& path, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  // fchmod: a file that existed keeps its mode through open().
  bool ok = fd >= 0 && fchmod(fd, 0600) == 0;
  size_t written = 0;
  while (ok && written < text.size()) {
    const ssize_t n = write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) written += static_cast<size_t>(n);
  }
  const int error = errno;
  if (fd >= 0) ok = close(fd) == 0 && ok;
  if (!ok) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": cannot write: ", std::strerror(error)));
  }
  return absl::OkStatus();
}

}  // namespace flopwise::workerd
