// Helpers for the comm tests: a temporary folder and ranks as threads.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace flopwise::comm {

inline std::string MakeTempDir(const std::string& tag) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / ("flopwise-" + tag + "-XXXXXX")).string();
  return mkdtemp(pattern.data());
}

// Runs body(rank) for ranks 0 … n-1, each on its own thread, and joins them.
inline void RunRanks(int n, const std::function<void(int)>& body) {
  std::vector<std::thread> threads;
  for (int rank = 0; rank < n; ++rank) threads.emplace_back(body, rank);
  for (std::thread& t : threads) t.join();
}

}  // namespace flopwise::comm
