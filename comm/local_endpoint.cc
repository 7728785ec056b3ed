#include "comm/local_endpoint.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace flopwise::comm {

absl::Status CheckLocalAddress(const std::string& address) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    length = sizeof(*v4);
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    length = sizeof(*v6);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("'", address, "' is not an IPv4 or IPv6 address (e.g. 10.0.0.5)"));
  }
  // Port 0: any free port, released at once; only the address is tested.
  const int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open a socket for ", address, ": ", std::strerror(errno)));
  }
  const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&storage), length) == 0;
  const int error = errno;
  close(fd);
  if (!bound) {
    return absl::FailedPreconditionError(absl::StrCat(
        address, " is not an address of this host (bind: ", std::strerror(error), ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckLocalInterface(const std::string& interface) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot list this host's network interfaces: ", std::strerror(errno)));
  }
  std::set<std::string> with_address;
  for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr) continue;
    const int family = entry->ifa_addr->sa_family;
    if (family == AF_INET || family == AF_INET6) with_address.insert(entry->ifa_name);
  }
  freeifaddrs(list);
  if (with_address.contains(interface)) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "this host has no network interface '", interface,
      "' with an IP address (those with one: ", absl::StrJoin(with_address, ", "), ")"));
}

absl::Status CheckRankEndpointFlags(const std::string& rank_address,
                                    const std::string& rank_interface) {
  const bool by_address = !rank_address.empty();
  if (by_address && !rank_interface.empty()) {
    return absl::InvalidArgumentError(
        "--rank-address, --rank-interface: give one of them, not both");
  }
  if (!by_address && rank_interface.empty()) return absl::OkStatus();
  const absl::Status s =
      by_address ? CheckLocalAddress(rank_address) : CheckLocalInterface(rank_interface);
  if (s.ok()) return s;
  return absl::Status(
      s.code(), absl::StrCat(by_address ? "--rank-address: " : "--rank-interface: ", s.message()));
}

}  // namespace flopwise::comm
