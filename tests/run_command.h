// Runs a shell command line and keeps its exit code and standard output: the
// helper of the tests that drive the programs of this build from outside.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace flopwise::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when the command could not start or was killed
  std::string out;     // standard output (redirect stderr in the command to keep it)
};

inline CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.out.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace flopwise::testing
