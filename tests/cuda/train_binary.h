// Runs the flopwise-train binary of this build (FLOPWISE_TRAIN_BIN) with
// `args` and keeps its exit code and output: the CUDA flag tests' helper.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace flopwise::train {

struct Result {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

inline Result RunTrainBinary(const std::string& args) {
  Result result;
  FILE* pipe = popen((std::string(FLOPWISE_TRAIN_BIN) + " " + args + " 2>&1").c_str(), "r");
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace flopwise::train
