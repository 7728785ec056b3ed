// The coordinator's TLS certificate and key, checked before the port is bound
// so that a bad file is reported as itself and not as a failure to listen.
#ifndef FLOPWISE_SERVER_TLS_FILES_H_
#define FLOPWISE_SERVER_TLS_FILES_H_

#include <string>

#include "absl/status/statusor.h"

namespace flopwise::server {

struct TlsPem {
  std::string cert_chain;
  std::string private_key;
};

// Reads both PEM files and checks that the certificate parses, the key parses
// and the key belongs to the (first) certificate. Errors name the flag
// (tls-cert / tls-key), the path and the problem: NotFound/PermissionDenied
// when unreadable, InvalidArgument when not PEM or when the two do not match.
absl::StatusOr<TlsPem> LoadTlsFiles(const std::string& cert_path, const std::string& key_path);

}  // namespace flopwise::server

#endif  // FLOPWISE_SERVER_TLS_FILES_H_
