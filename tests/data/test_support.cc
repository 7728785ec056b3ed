#include "tests/data/test_support.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "worker/data/data_dir.h"

namespace flopwise::data::testing {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "flopwise-data-XXXXXX").string();
  path_ = ::mkdtemp(pattern.data()) ? pattern : "";
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) fs::remove_all(path_, ec);
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

absl::StatusOr<std::vector<std::vector<int32_t>>> EncodeWithJsTiktoken(
    const std::string& encoding, const std::vector<std::string>& texts) {
  if (std::system("command -v node >/dev/null 2>&1") != 0) {
    return absl::FailedPreconditionError("node is not on PATH: run scripts/install-deps.sh");
  }
  absl::StatusOr<std::string> package =
      FindDataFile("npm/node_modules/js-tiktoken/package.json", "run scripts/install-deps.sh");
  if (!package.ok()) return absl::FailedPreconditionError(package.status().message());
  TempDir dir;
  WriteFile(dir.File("in.json"), nlohmann::json(texts).dump());
  const std::string command =
      absl::StrCat("node ", FLOPWISE_SOURCE_DIR, "/tests/data/tiktoken_peer.mjs ",
                   fs::path(*package).parent_path().string(), " ", encoding, " ",
                   dir.File("in.json"), " ", dir.File("out.json"));
  if (std::system(command.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("js-tiktoken peer failed: ", command));
  }
  std::ifstream in(dir.File("out.json"));
  const nlohmann::json ids = nlohmann::json::parse(in, nullptr, false);
  if (ids.is_discarded() || ids.size() != texts.size()) {
    return absl::InternalError("js-tiktoken peer wrote no usable output");
  }
  return ids.get<std::vector<std::vector<int32_t>>>();
}

}  // namespace flopwise::data::testing
