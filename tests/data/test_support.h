// Helpers shared by the data tests: temporary folders and the js-tiktoken peer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flopwise::data::testing {

// A fresh empty folder under the system's temporary folder, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& bytes);

// Encodes `texts` with js-tiktoken under node (special tokens allowed).
// FailedPrecondition, saying what to run, when node or the package is missing.
absl::StatusOr<std::vector<std::vector<int32_t>>> EncodeWithJsTiktoken(
    const std::string& encoding, const std::vector<std::string>& texts);

}  // namespace flopwise::data::testing
