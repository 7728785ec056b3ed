// The `HOST:PORT` of a listening flag (`--listen`, `--metrics-listen`).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace flopwise::server {

struct ListenAddress {
  std::string host;  // an IPv6 host without its brackets; for unix:PATH, the whole text
  int port = 0;      // 0: a free port
  bool unix_socket = false;
};

// Parses HOST:PORT, [IPV6]:PORT or unix:PATH. gRPC would take port 99999
// modulo 65536, so the port is checked here: 1..65535, or 0 for a free one.
// InvalidArgument naming `flag` ("listen: port \"x\" in ... is not 0..65535").
absl::StatusOr<ListenAddress> ParseListenAddress(std::string_view listen, std::string_view flag);

}  // namespace flopwise::server
