// A child process in its own process group, with its stdout on a pipe read
// line by line. The worker owns one per running trainer; tests use it to run
// the daemons.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace flopwise::workerd {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is the program path
  // Added to (or replacing in) the parent's environment.
  std::vector<std::pair<std::string, std::string>> env;
  bool capture_stdout = true;  // false: inherit the parent's stdout
  std::string stderr_path;     // appended to; empty: inherit the parent's stderr
  // The child gets this signal when the thread that spawned it exits (Linux
  // PR_SET_PDEATHSIG); 0 for none. Spawn from a long-lived thread.
  int parent_death_signal = 0;
};

// How a child ended.
struct ExitStatus {
  int exit_code = -1;            // -1 when killed by a signal
  int signal = 0;                // the signal that killed it, 0 otherwise
  std::string Describe() const;  // "exit code 3" or "killed by signal 9 (Killed)"
};

// Not thread-safe, except ReadLine may run on one thread while another calls
// Signal/TryWait.
class ChildProcess {
 public:
  // Starts the program. InvalidArgument for an empty argv, NotFound when the
  // program does not exist or is not executable, Internal for a system error.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(const SpawnOptions& options);

  // Kills the process group with SIGKILL and reaps the child if it is still
  // running.
  ~ChildProcess();

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Sends `signal` to the child's whole process group.
  void Signal(int signal);

  // The child's exit status once it has ended; nullopt while it runs.
  std::optional<ExitStatus> TryWait();
  // Blocks until the child ends.
  ExitStatus Wait();

  // Reads the next complete line from the child's stdout (without "\n").
  // Blocks; returns nullopt at end of file (every writer closed the pipe).
  // A last line without a newline is returned before end of file.
  std::optional<std::string> ReadLine();

 private:
  ChildProcess(pid_t pid, int stdout_fd) : pid_(pid), stdout_fd_(stdout_fd) {}

  pid_t pid_;
  int stdout_fd_;  // -1 when not captured or closed
  std::optional<ExitStatus> exit_status_;
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace flopwise::workerd
