#include "worker/data/data_dir.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace flopwise::data {
namespace fs = std::filesystem;

absl::StatusOr<std::string> DataDir() {
  if (const char* env = std::getenv("FLOPWISE_DATA_DIR"); env != nullptr && *env != '\0') {
    std::error_code ec;
    if (!fs::is_directory(env, ec)) {
      return absl::NotFoundError(absl::StrCat("FLOPWISE_DATA_DIR=", env, ": not a directory"));
    }
    return std::string(env);
  }
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path dir = exe.parent_path(); !dir.empty(); dir = dir.parent_path()) {
      const fs::path candidate = dir / ".deps";
      if (fs::is_directory(candidate, ec)) return candidate.string();
      if (dir == dir.root_path()) break;
    }
    // Installed: PREFIX/bin/flopwise -> PREFIX/share/flopwise.
    const fs::path installed = exe.parent_path().parent_path() / "share" / "flopwise";
    if (fs::is_directory(installed, ec)) return installed.string();
  }
  return absl::NotFoundError(
      "no data folder: set FLOPWISE_DATA_DIR, or run scripts/install-deps.sh in the checkout "
      "(it creates .deps/ beside the build folders; an installed flopwise uses "
      "PREFIX/share/flopwise)");
}

absl::StatusOr<std::string> FindDataFile(const std::string& relative_path,
                                         const std::string& remedy) {
  absl::StatusOr<std::string> dir = DataDir();
  if (!dir.ok()) {
    return absl::NotFoundError(absl::StrCat(relative_path, ": ", dir.status().message()));
  }
  const fs::path path = fs::path(*dir) / relative_path;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path.string(), ": not found; ", remedy));
  }
  return path.string();
}

}  // namespace flopwise::data
