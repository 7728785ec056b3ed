// Reading a bearer-token file: the one rule for the coordinator's two token
// files and the worker's and CLI's --token-file (docs/operations.md).
#ifndef FLOPWISE_BASE_TOKEN_FILE_H_
#define FLOPWISE_BASE_TOKEN_FILE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace flopwise {

// A shorter token is refused: anything shorter is guessable.
inline constexpr size_t kMinTokenLength = 16;

// The token in the file at `path`: its first line without surrounding
// whitespace. Errors name `what` (the flag) and the path: NotFound or
// PermissionDenied when the file cannot be read, InvalidArgument when it holds
// no token or one shorter than kMinTokenLength. A file readable by group or
// others is accepted with a warning in the log (tokens are often provisioned
// by tools that do not set modes; the warning says how to fix it).
absl::StatusOr<std::string> ReadTokenFile(const std::string& path, std::string_view what);

}  // namespace flopwise

#endif  // FLOPWISE_BASE_TOKEN_FILE_H_
