#include "worker/daemon/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace flopwise::workerd {
namespace {

ExitStatus FromWaitStatus(int status) {
  ExitStatus out;
  if (WIFEXITED(status)) {
    out.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out.signal = WTERMSIG(status);
  }
  return out;
}

// "KEY=VALUE" strings: the parent's environment with `extra` applied.
std::vector<std::string> BuildEnvironment(
    const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    bool replaced = false;
    for (const auto& [key, value] : extra) {
      if (entry.compare(0, key.size() + 1, key + "=") == 0) replaced = true;
    }
    if (!replaced) env.push_back(std::move(entry));
  }
  for (const auto& [key, value] : extra) env.push_back(key + "=" + value);
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string ExitStatus::Describe() const {
  if (signal != 0) return absl::StrCat("killed by signal ", signal, " (", strsignal(signal), ")");
  return absl::StrCat("exit code ", exit_code);
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("spawn: argv: empty");
  const std::string& program = options.argv[0];
  if (access(program.c_str(), X_OK) != 0) {
    return absl::NotFoundError(
        absl::StrCat("spawn: ", program, ": not an executable file: ", std::strerror(errno)));
  }
  int stderr_fd = -1;
  if (!options.stderr_path.empty()) {
    stderr_fd = open(options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (stderr_fd < 0) {
      return absl::InternalError(
          absl::StrCat("spawn: stderr log ", options.stderr_path, ": ", std::strerror(errno)));
    }
  }
  int pipe_fds[2] = {-1, -1};
  if (options.capture_stdout && pipe2(pipe_fds, O_CLOEXEC) != 0) {
    const int err = errno;
    if (stderr_fd >= 0) close(stderr_fd);
    return absl::InternalError(absl::StrCat("spawn: pipe: ", std::strerror(err)));
  }
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  std::vector<std::string> argv_strings = options.argv;
  std::vector<std::string> env_strings = BuildEnvironment(options.env);
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<char*> envp = CStrings(env_strings);
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    if (stderr_fd >= 0) close(stderr_fd);
    if (pipe_fds[0] >= 0) close(pipe_fds[0]), close(pipe_fds[1]);
    return absl::InternalError(absl::StrCat("spawn: fork: ", std::strerror(err)));
  }
  if (pid == 0) {
    setpgid(0, 0);
    if (options.parent_death_signal != 0) {
      prctl(PR_SET_PDEATHSIG, options.parent_death_signal);
      if (getppid() != parent) _exit(127);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    if (pipe_fds[1] >= 0) dup2(pipe_fds[1], STDOUT_FILENO);
    if (stderr_fd >= 0) dup2(stderr_fd, STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  // Also set the group from the parent so that Signal() works at once.
  setpgid(pid, pid);
  if (stderr_fd >= 0) close(stderr_fd);
  if (pipe_fds[1] >= 0) close(pipe_fds[1]);
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, pipe_fds[0]));
}

ChildProcess::~ChildProcess() {
  if (!exit_status_.has_value()) {
    Signal(SIGKILL);
    Wait();
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

void ChildProcess::Signal(int signal) {
  if (exit_status_.has_value()) return;
  kill(-pid_, signal);
}

std::optional<ExitStatus> ChildProcess::TryWait() {
  if (exit_status_.has_value()) return exit_status_;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) exit_status_ = FromWaitStatus(status);
  return exit_status_;
}

ExitStatus ChildProcess::Wait() {
  if (exit_status_.has_value()) return *exit_status_;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  exit_status_ = r == pid_ ? FromWaitStatus(status) : ExitStatus{};
  return *exit_status_;
}

std::optional<std::string> ChildProcess::ReadLine() {
  while (true) {
    const size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    if (eof_ || stdout_fd_ < 0) {
      if (buffer_.empty()) return std::nullopt;
      std::string line = std::move(buffer_);
      buffer_.clear();
      return line;
    }
    char chunk[4096];
    const ssize_t n = read(stdout_fd_, chunk, sizeof(chunk));
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      eof_ = true;
    }
  }
}

}  // namespace flopwise::workerd
