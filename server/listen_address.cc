#include "server/listen_address.h"

#include "base/str_cat.h"

namespace flopwise::server {

absl::StatusOr<ListenAddress> ParseListenAddress(std::string_view listen, std::string_view flag) {
  if (listen.starts_with("unix:")) {
    return ListenAddress{.host = std::string(listen), .port = 0, .unix_socket = true};
  }
  const size_t colon = listen.rfind(':');
  const std::string_view host = colon == std::string_view::npos ? "" : listen.substr(0, colon);
  const std::string_view port = colon == std::string_view::npos ? "" : listen.substr(colon + 1);
  const bool ipv6 = host.size() >= 2 && host.starts_with('[') && host.ends_with(']');
  if (host.empty() || (!ipv6 && host.find(':') != std::string_view::npos)) {
    return absl::InvalidArgumentError(
        Cat(flag, ": \"", listen, "\" is not HOST:PORT (an IPv6 host goes in brackets)"));
  }
  int value = 0;
  const bool digits = !port.empty() && port.size() <= 5 &&
                      port.find_first_not_of("0123456789") == std::string_view::npos;
  if (digits) value = std::stoi(std::string(port));
  if (!digits || value > 65535) {
    return absl::InvalidArgumentError(Cat(flag, ": port \"", port, "\" in \"", listen,
                                          "\" is not 0..65535 (0 picks a free port)"));
  }
  return ListenAddress{.host = std::string(ipv6 ? host.substr(1, host.size() - 2) : host),
                       .port = value};
}

}  // namespace flopwise::server
