// The flopwise-train executable: stdout protocol and exit codes.
#include <sys/wait.h>

#include <gtest/gtest.h>
#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/train/train_test_util.h"

namespace flopwise::train {
namespace {

struct Result {
  int exit_code = -1;
  std::string out;
};

Result RunTrainBinary(const std::string& args) {
  const std::string command = std::string(FLOPWISE_TRAIN_BIN) + " " + args + " 2>/dev/null";
  Result result;
  FILE* pipe = popen(command.c_str(), "r");
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.out.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

TEST(FlopwiseTrainCli, UsageErrorsExit2) {
  EXPECT_EQ(RunTrainBinary("--no-such-flag 1").exit_code, 2);
  EXPECT_EQ(RunTrainBinary("check --weights w.safetensors").exit_code,
            2);  // missing required flags
  const std::string dir = MakeTempDir("cli-usage");
  std::ofstream(dir + "/c.yaml") << "no_such_key: 3\n";
  EXPECT_EQ(RunTrainBinary("--config " + dir + "/c.yaml").exit_code, 2);
}

TEST(FlopwiseTrainCli, YamlConfigTrainsAndEveryStdoutLineIsJson) {
  const std::string dir = MakeTempDir("cli-run");
  const std::string data = WriteTokenFile(dir, 5000, 64, 9);
  std::ofstream(dir + "/c.yaml") << "arch: cos2\npreset: cpu-1\nvocab: 64\ncontext: 32\n"
                                 << "data: " << data << "\nbatch_tokens: 64\n"
                                 << "total_tokens: 1024\nscaled_residual_init: true\nout: " << dir
                                 << "/run\nthreads: 1\n";
  // The command line overrides the file.
  const Result r =
      RunTrainBinary("--config " + dir + "/c.yaml --total-tokens 256 --log-every-steps 2");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::istringstream lines(r.out);
  std::string line, last_event;
  int progress = 0;
  while (std::getline(lines, line)) {
    const nlohmann::json event = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(event.is_discarded()) << line;
    last_event = event["event"];
    if (last_event == "progress") ++progress;
    if (last_event == "start") {
      EXPECT_EQ(event["arch"], "cos2");
    }
  }
  EXPECT_EQ(last_event, "done");
  EXPECT_EQ(progress, 2);  // 4 steps, every 2

  const Result check =
      RunTrainBinary("check --weights " + dir + "/run/step-00000004/model.safetensors --tokens " +
                     data + " --batch 1 --context 4999 --threads 1");
  EXPECT_EQ(check.exit_code, 0);
  EXPECT_EQ(check.out.rfind("loss ", 0), 0u) << check.out;
}

TEST(FlopwiseTrainCli, BadInputExits1WithErrorEvent) {
  const std::string dir = MakeTempDir("cli-bad");
  const Result r =
      RunTrainBinary("--arch tnl --preset cpu-1 --vocab 64 --context 32 --data " + dir +
                     "/missing.u32 --batch-tokens 64 --total-tokens 64 --out " + dir + "/run");
  EXPECT_EQ(r.exit_code, 1);
  const nlohmann::json event = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(event.is_discarded()) << r.out;
  EXPECT_EQ(event["event"], "error");
}

}  // namespace
}  // namespace flopwise::train
