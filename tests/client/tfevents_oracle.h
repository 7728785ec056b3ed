// The tests' reader of TensorBoard event files: tests/client/read_tfevents.py
// under Debian's /usr/bin/python3, which checks the framing's CRC-32Cs and
// decodes the events without any of flopwise's code.
#pragma once

#include <sys/wait.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace flopwise::client::testing {

// Empty when the reader can run; else why not (the test skips).
inline std::string OracleMissing() {
  if (std::system("/usr/bin/python3 -c 'import google.protobuf' 2>/dev/null") != 0) {
    return "python3-protobuf is not installed (scripts/install-deps.sh)";
  }
  return "";
}

struct OracleEvent {
  std::string run;  // the event file's folder, relative to the folder read
  int64_t step = 0;
  std::string tag;
  double value = 0;
  double wall_time = 0;
};

struct OracleResult {
  int exit_code = -1;
  std::string errors;  // its stderr
  std::vector<OracleEvent> events;
};

// Reads every event file under `dir`; `scratch` holds the reader's output.
inline OracleResult ReadWithOracle(const std::filesystem::path& dir,
                                   const std::filesystem::path& scratch) {
  const std::filesystem::path out = scratch / "oracle.out";
  const std::filesystem::path err = scratch / "oracle.err";
  const std::string command = std::string("/usr/bin/python3 ") + READ_TFEVENTS_PY + " " +
                              dir.string() + " > " + out.string() + " 2> " + err.string();
  OracleResult result;
  const int status = std::system(command.c_str());
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream errors(err);
  result.errors.assign(std::istreambuf_iterator<char>(errors), std::istreambuf_iterator<char>());
  std::ifstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    OracleEvent event{j["run"], j["step"], j["tag"], 0, j["wall_time"]};
    event.value = j["value"].is_string()
                      ? std::strtod(j["value"].get<std::string>().c_str(), nullptr)
                      : j["value"].get<double>();
    result.events.push_back(event);
  }
  return result;
}

}  // namespace flopwise::client::testing
