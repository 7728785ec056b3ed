#include "server/spec_paths.h"

#include <filesystem>

#include "base/str_cat.h"

namespace flopwise::server {

absl::StatusOr<std::string> ResolveSpecPath(std::string_view path, std::string_view base_dir) {
  if (path.starts_with("~")) {
    return absl::InvalidArgumentError(
        Cat("\"", path, "\" starts with ~, which nothing expands; give an absolute path"));
  }
  if (path.starts_with("/")) return std::string(path);
  if (base_dir.empty()) {
    return absl::InvalidArgumentError(
        Cat("\"", path,
            "\" is relative; give an absolute path, or submit with `flopwise submit` from the "
            "folder it is relative to (it sends that folder as base_dir)"));
  }
  return (std::filesystem::path(base_dir) / std::filesystem::path(path))
      .lexically_normal()
      .string();
}

}  // namespace flopwise::server
