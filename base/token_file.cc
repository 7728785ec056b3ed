#include "base/token_file.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/ascii.h"
#include "base/str_cat.h"

namespace flopwise {

absl::StatusOr<std::string> ReadTokenFile(const std::string& path, std::string_view what) {
  if (path.empty()) return absl::InvalidArgumentError(Cat(what, ": required"));
  std::ifstream in(path);
  if (!in) {
    const int err = errno;
    const std::string message = Cat(what, ": cannot read ", path, ": ", std::strerror(err));
    if (err == EACCES) return absl::PermissionDeniedError(message);
    return absl::NotFoundError(message);
  }
  std::string line;
  std::getline(in, line);
  const std::string token(absl::StripAsciiWhitespace(line));
  if (token.empty()) return absl::InvalidArgumentError(Cat(what, ": ", path, " holds no token"));
  if (token.size() < kMinTokenLength) {
    return absl::InvalidArgumentError(Cat(what, ": the token in ", path, " is ", token.size(),
                                          " characters; at least ", kMinTokenLength,
                                          " are required"));
  }
  struct stat info;
  if (::stat(path.c_str(), &info) == 0 && (info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    spdlog::warn("{}: {} is readable by group or others; run chmod 600 {}", what, path, path);
  }
  return token;
}

}  // namespace flopwise
