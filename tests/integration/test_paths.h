// Paths of the programs under test, compiled in by CMake, and small helpers
// shared by the daemon tests.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#ifndef FLOPWISE_BIN_DIR
#error "FLOPWISE_BIN_DIR must name the directory of the built programs"
#endif

namespace flopwise::testing {

inline std::string BinPath(const std::string& program) {
  return std::string(FLOPWISE_BIN_DIR) + "/" + program;
}

inline bool HaveProgram(const std::string& program) {
  return access(BinPath(program).c_str(), X_OK) == 0;
}

// A fresh directory under the system's temp directory, removed by the
// destructor unless FLOPWISE_KEEP_TEST_DIRS is set (then its path is
// printed, for a post-mortem of a failed daemon test).
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "flopwise-test-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    if (const char* keep = std::getenv("FLOPWISE_KEEP_TEST_DIRS"); keep != nullptr && *keep) {
      std::fprintf(stderr, "kept %s (FLOPWISE_KEEP_TEST_DIRS)\n", path_.c_str());
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Polls `done` every 20 ms until it holds or `timeout_s` passes.
inline bool WaitFor(const std::function<bool()>& done, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

}  // namespace flopwise::testing
