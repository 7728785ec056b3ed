#include "client/errors.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

namespace flopwise::client {

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

std::string OneLine(const absl::Status& status) {
  std::string message(absl::StripTrailingAsciiWhitespace(status.message()));
  message = absl::StrReplaceAll(message, {{"\n", "; "}});
  return absl::StrCat(absl::StatusCodeToString(status.code()), ": ", message);
}

}  // namespace flopwise::client
